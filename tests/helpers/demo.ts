// A project of its own holding the emoji demo (9 classes × `perClass` real PNGs), imported through
// the host as the app does: the start of most tests that need real images in a real store.
import assert from 'node:assert/strict';
import { prepareEmojiDemo } from '../../core/demo.ts';
import { Host } from '../../core/host/host.ts';
import { tempDir } from './corpus.ts';

export interface DemoProject {
  host: Host;
  dir: string;
  datasetId: number;
}

/** Imported with the class folders as labels, or with no labels (`labels: 'none'`). The caller closes the host. */
export async function emojiDemoProject(prefix: string, perClass: number, labels: 'folders' | 'none' = 'folders'): Promise<DemoProject> {
  const dir = tempDir(prefix);
  const folder = prepareEmojiDemo(dir, perClass);
  const host = new Host({ projectDir: dir, userDir: tempDir('loupe-user'), transport: 'http', create: true, autoResume: false });
  try {
    const { jobId, datasetId } = (await host.call('import.start', { folder, labels: { kind: labels } })) as { jobId: number; datasetId: number };
    assert.equal((await host.jobs.waitFor(jobId)).state, 'done');
    return { host, dir, datasetId };
  } catch (err) {
    host.close();
    throw err;
  }
}
