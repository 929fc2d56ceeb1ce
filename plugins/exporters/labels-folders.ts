// Labels as ImageNet-style folders (<class>/<image>), the layout torchvision's ImageFolder and
// most training scripts read. Copies by default (portable, survives moving the originals);
// symlinks on request (no extra disk). Class and file names come from the data, so they go
// through the target's safe join.
import fs from 'node:fs';
import path from 'node:path';
import { safeName } from '../../core/export/output.ts';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'labels', format: 'folders', output: 'folder',
  description: 'One folder per class holding its images (copies, or symlinks with --mode symlink).',
  options: [{ key: 'mode', help: 'copy the images or link to them', choices: ['copy', 'symlink'], default: 'copy' }],
  async write(sources, target, options, io) {
    const mode = options.mode ?? 'copy';
    if (mode !== 'copy' && mode !== 'symlink') throw new Error(`mode must be copy or symlink, not ${mode}`);
    const labels = sources.labels();
    const folderOf = new Map<string, string>();
    const usedFolders = new Set<string>();
    const usedFiles = new Set<string>();
    let done = 0;
    for (const l of labels) {
      if (io.signal.aborted) throw new Error('cancelled');
      let folder = folderOf.get(l.label);
      if (!folder) {
        // Distinct labels may sanitise to the same name ("a/b" and "a_b"): keep them apart.
        const base = safeName(l.label, 'unnamed-class');
        folder = base;
        for (let k = 2; usedFolders.has(folder.toLowerCase()); k++) folder = `${base}-${k}`;
        usedFolders.add(folder.toLowerCase());
        folderOf.set(l.label, folder);
      }
      const ext = path.extname(l.relPath);
      const stem = safeName(path.basename(l.relPath, ext), 'image');
      let name = stem + safeName(ext, '');
      if (usedFiles.has(`${folder}/${name}`.toLowerCase())) name = `${stem}-${l.id}${safeName(ext, '')}`;
      usedFiles.add(`${folder}/${name}`.toLowerCase());
      const dest = target.join(folder, name);
      if (mode === 'copy') await fs.promises.copyFile(l.path, dest);
      else await fs.promises.symlink(l.path, dest);
      if (++done % 200 === 0) io.progress(done, labels.length);
    }
    return { count: labels.length, details: { classes: folderOf.size, mode, folders: Object.fromEntries(folderOf) } };
  },
};

export const labelsFoldersExporter: Plugin<Exporter> = {
  manifest: { id: 'export-labels-folders', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'Labels (class folders)', description: exporter.description },
  activate: () => exporter,
};
