/**
 * Import throughput: Loupe's import (hash, header, dedupe, thumbnail, SQLite rows) against a plain
 * sharp resize loop over the same JPEGs with the same concurrency. Target: ≥ 0.8× the plain loop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Host } from '../core/host/host.ts';
import type { ImportResult } from '../core/images/import.ts';

const cacheDir = path.resolve('bench/.cache');

async function corpus(count: number, width: number, height: number): Promise<string> {
  const dir = path.join(cacheDir, `jpeg-${count}-${width}x${height}`);
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  fs.mkdirSync(dir, { recursive: true });
  console.log(`Generating ${count} JPEGs of ${width}×${height} in ${dir} (once)…`);
  const t = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: os.availableParallelism() * 2 }, async () => {
      while (next < count) {
        const i = next++;
        const file = path.join(dir, `img_${String(i).padStart(6, '0')}.jpg`);
        if (fs.existsSync(file)) continue;
        // Smoothed noise: unique per image (no accidental duplicates) with photo-like JPEG sizes.
        await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 70 } } })
          .blur(1.5)
          .jpeg({ quality: 85 })
          .toFile(file);
      }
    }),
  );
  fs.writeFileSync(done, '');
  console.log(`  generated in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return dir;
}

async function plainLoop(files: string[], concurrency: number): Promise<number> {
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) {
        const f = files[next++]!;
        await sharp(f).rotate().resize(256, 256, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80, effort: 2 }).toBuffer();
      }
    }),
  );
  return files.length / ((performance.now() - t) / 1000);
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { count: { type: 'string', default: '5000' }, width: { type: 'string', default: '1024' }, height: { type: 'string', default: '768' } } });
  const count = Number(values.count);
  const dir = await corpus(count, Number(values.width), Number(values.height));
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).map((f) => path.join(dir, f));
  const concurrency = Math.max(2, os.availableParallelism() * 2);
  for (const f of files) fs.readFileSync(f); // warm the page cache for both contenders

  const plain = await plainLoop(files, concurrency);
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-import-'));
  const host = new Host({ projectDir: project, userDir: fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-user-')), transport: 'http' });
  const t = performance.now();
  const { jobId } = (await host.call('import.start', { folder: dir, labels: { kind: 'none' } })) as { jobId: number };
  const job = await host.jobs.waitFor(jobId);
  const seconds = (performance.now() - t) / 1000;
  const result = job.result as ImportResult;
  host.close();
  fs.rmSync(project, { recursive: true, force: true });
  const ours = result.imported / seconds;
  const rssMiB = process.resourceUsage().maxRSS / 1024;

  console.log(`\nImport benchmark — ${files.length} JPEGs ${values.width}×${values.height}, ${os.availableParallelism()} cores, ${concurrency} files in flight`);
  console.log(`  plain sharp resize loop : ${plain.toFixed(1)} images/s`);
  console.log(`  Loupe import            : ${ours.toFixed(1)} images/s (${result.imported} imported, ${result.failed} failed, ${seconds.toFixed(1)} s)`);
  console.log(`  ratio Loupe / plain     : ${(ours / plain).toFixed(2)}× (target ≥ 0.80×)`);
  console.log(`  peak RSS                : ${rssMiB.toFixed(0)} MiB`);
}
