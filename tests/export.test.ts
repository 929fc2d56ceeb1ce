// Exports: a real encoder trained on real images is exported to ONNX and read back by
// onnxruntime-node (embeddings must match the tfjs encoder's), and to a TensorFlow.js GraphModel
// read back by tf.loadGraphModel; every data export is re-read and checked against the store;
// destinations are never overwritten without consent and nothing escapes the chosen folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { clusterEmbeddings } from '../core/cluster/run.ts';
import { assignments } from '../core/cluster/store.ts';
import { useBackendForTest } from '../core/engine/backends/select.ts';
import { CacheReader, ensureTrainingCache } from '../core/engine/data/cache.ts';
import { embedRun, loadRunEncoder, readEmbeddings } from '../core/engine/embed.ts';
import { createTrainingRun } from '../core/engine/jobs.ts';
import { findSslMethod } from '../core/engine/methods.ts';
import { trainRun } from '../core/engine/trainer.ts';
import { parseCsv } from '../core/export/csv.ts';
import { readNpy } from '../core/export/npy.ts';
import { EXPORT_MARKER, safeName, StagedOutput } from '../core/export/output.ts';
import { exportersFrom, runExport } from '../core/export/run.ts';
import type { Exporter } from '../core/plugins/contract.ts';
import { setLabels } from '../core/store/images.ts';
import { latestEmbedding } from '../core/store/runs.ts';
import { tempDir } from './helpers/corpus.ts';
import { emojiDemoProject } from './helpers/demo.ts';

const bin = path.resolve('bin/loupe.mjs');
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

async function trainedProject(imageSize: number) {
  await useBackendForTest('native');
  const { host, dir, datasetId } = await emojiDemoProject('export', 8);
  const runId = createTrainingRun(host.project, findSslMethod('simclr'), datasetId, {
    epochs: 1, batchSize: 16, imageSize, width: 0.125, knnEvery: 0, warmupEpochs: 0, hyperparameters: { hiddenDim: 32, projectionDim: 16 },
  });
  await trainRun(host.project, runId, { signal: new AbortController().signal, progress: () => {} });
  return { dir, host, datasetId, runId };
}

test('the encoder exported to ONNX runs in onnxruntime-node and gives the tfjs encoder\'s embeddings; so does the TensorFlow.js GraphModel', { timeout: 300_000 }, async () => {
  for (const imageSize of [32, 72]) { // CIFAR stem, then the ImageNet stem with its max-pool
    const { dir, host, datasetId, runId } = await trainedProject(imageSize);
    try {
      const out = path.join(tempDir('onnx-out'), 'encoder.onnx');
      const result = await runExport(host.project, { datasetId, subject: 'encoder', format: 'onnx', out });
      assert.deepEqual(result.files, [out]);

      // Real images, preprocessed as the metadata says, through both.
      const loaded = loadRunEncoder(host.project, runId);
      const cache = await ensureTrainingCache(host.project, datasetId, imageSize);
      const reader = new CacheReader({ ...cache, mean: loaded.metadata.normalization.mean, std: loaded.metadata.normalization.std });
      const rows = [0, 3, 7, 11, 20];
      const nhwc = tf.tidy(() => reader.batch(rows)) as tf.Tensor4D;
      const want = loaded.encoder.apply(nhwc, { training: false }).dataSync();

      const session = await ort.InferenceSession.create(out);
      assert.deepEqual(session.inputNames, ['image']);
      assert.deepEqual(session.outputNames, ['embedding']);
      const nchw = tf.transpose(nhwc, [0, 3, 1, 2]).dataSync() as Float32Array;
      const got = await session.run({ image: new ort.Tensor('float32', nchw, [rows.length, 3, imageSize, imageSize]) });
      assert.deepEqual(got.embedding!.dims, [rows.length, loaded.encoder.featureDim]);
      const diff = maxAbsDiff(want, got.embedding!.data as Float32Array);
      assert.ok(diff < 1e-4, `ONNX vs tfjs max abs diff ${diff} (size ${imageSize})`);
      // Dynamic batch: one image alone gives the same row.
      const one = await session.run({ image: new ort.Tensor('float32', nchw.slice(0, 3 * imageSize * imageSize), [1, 3, imageSize, imageSize]) });
      assert.ok(maxAbsDiff(want.slice(0, loaded.encoder.featureDim), one.embedding!.data as Float32Array) < 1e-4);

      // The ONNX file carries its preprocessing.
      const bytes = fs.readFileSync(out).toString('latin1');
      assert.match(bytes, /loupe\.preprocessing/);
      assert.ok(bytes.includes(`"inputSize":${imageSize}`) && bytes.includes('"resize":"cover-crop"'));

      // TensorFlow.js GraphModel folder, loaded by tfjs's own loader.
      const tfjsOut = path.join(tempDir('tfjs-out'), 'encoder-tfjs');
      await runExport(host.project, { datasetId, subject: 'encoder', format: 'tfjs', out: tfjsOut });
      const modelJson = JSON.parse(fs.readFileSync(path.join(tfjsOut, 'model.json'), 'utf8'));
      const weights = fs.readFileSync(path.join(tfjsOut, 'weights.bin'));
      const graph = await tf.loadGraphModel({
        load: async () => ({
          modelTopology: modelJson.modelTopology, format: modelJson.format, signature: modelJson.signature, userDefinedMetadata: modelJson.userDefinedMetadata,
          weightSpecs: modelJson.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
        }),
      });
      const graphOut = graph.execute(nhwc) as tf.Tensor;
      const tfjsDiff = maxAbsDiff(want, graphOut.dataSync());
      assert.ok(tfjsDiff < 1e-4, `GraphModel vs encoder max abs diff ${tfjsDiff}`);
      assert.equal(modelJson.userDefinedMetadata.preprocessing.inputSize, imageSize);
      tf.dispose([nhwc, graphOut]);
      graph.dispose();
      reader.close();
      loaded.dispose();
    } finally {
      host.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('embeddings, labels and clusters exports re-read equal to the store; destinations are safe', { timeout: 300_000 }, async () => {
  const { dir, host, datasetId, runId } = await trainedProject(24);
  try {
    const project = host.project;
    await embedRun(project, runId);
    const clustering = await clusterEmbeddings(project, { algo: 'kmeans', k: 4, runId, heads: 1, seed: 1 });
    // A label whose name tries to climb out of the export folder, and a human label that must win over the imported one.
    const [firstImage, secondImage] = (project.db.prepare("SELECT id FROM images WHERE dataset_id = ? AND status = 'ok' ORDER BY id LIMIT 2").all(datasetId) as { id: number }[]).map((r) => r.id);
    setLabels(project.db, [firstImage!], '../../escape', 'human');
    setLabels(project.db, [secondImage!], 'model guess', 'model', 0.4);
    const outDir = tempDir('data-out');

    // Embeddings: .npy + row index.
    const emb = readEmbeddings(project, latestEmbedding(project.db, runId)!);
    const npyOut = path.join(outDir, 'emb.npy');
    const e = await runExport(project, { datasetId, subject: 'embeddings', out: npyOut });
    assert.deepEqual(e.files, [npyOut, path.join(outDir, 'emb.csv')]);
    const npy = readNpy(npyOut);
    assert.equal(npy.descr, '<f4');
    assert.deepEqual(npy.shape, [emb.imageIds.length, emb.row.dim]);
    assert.deepEqual(Array.from(npy.data), Array.from(emb.features));
    const index = parseCsv(fs.readFileSync(path.join(outDir, 'emb.csv'), 'utf8'));
    assert.deepEqual(index[0], ['row', 'image_id', 'path', 'rel_path', 'split']);
    assert.deepEqual(index.slice(1).map((r) => Number(r[1])), emb.imageIds);
    assert.ok(index.slice(1).every((r) => fs.existsSync(r[2]!)), 'paths point at the originals');

    // Embeddings: Parquet, read back with hyparquet (what pandas/polars would see).
    const parquetOut = path.join(outDir, 'emb.parquet');
    await runExport(project, { datasetId, subject: 'embeddings', format: 'parquet', out: parquetOut });
    const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
    const table = (await parquetReadObjects({ file: await asyncBufferFromFile(parquetOut) })) as Record<string, unknown>[];
    assert.equal(table.length, emb.imageIds.length);
    assert.deepEqual(table.map((r) => Number(r.image_id)), emb.imageIds);
    const d = emb.row.dim;
    for (const i of [0, Math.floor(table.length / 2), table.length - 1]) {
      for (const j of [0, d - 1]) assert.equal(table[i]![`e${j}`], emb.features[i * d + j]);
    }

    // Labels: CSV, one row per labelled image, human label first.
    const labelled = (project.db.prepare("SELECT COUNT(DISTINCT l.image_id) AS n FROM labels l JOIN images i ON i.id = l.image_id WHERE i.dataset_id = ? AND i.status = 'ok'").get(datasetId) as { n: number }).n;
    const csvOut = path.join(outDir, 'labels.csv');
    await runExport(project, { datasetId, subject: 'labels', format: 'csv', out: csvOut });
    const rows = parseCsv(fs.readFileSync(csvOut, 'utf8'));
    assert.deepEqual(rows[0], ['path', 'label', 'confidence', 'source', 'split']);
    assert.equal(rows.length - 1, labelled);
    const firstPath = (project.db.prepare('SELECT path FROM images WHERE id = ?').get(firstImage!) as { path: string }).path;
    assert.deepEqual(rows.find((r) => r[0] === firstPath)?.slice(1, 4), ['../../escape', '1', 'human']);
    assert.equal(rows.filter((r) => r[0] === firstPath).length, 1);

    // Labels: class folders. The hostile class name stays inside as a safe folder name.
    const foldersOut = path.join(outDir, 'by-class');
    const f = await runExport(project, { datasetId, subject: 'labels', format: 'folders', out: foldersOut });
    const files = fs.readdirSync(foldersOut, { recursive: true, withFileTypes: true }).filter((d) => d.isFile() && d.name !== EXPORT_MARKER);
    assert.equal(files.length, labelled);
    assert.ok(fs.existsSync(path.join(foldersOut, safeName('../../escape'))), 'escaping class written as a safe folder');
    assert.ok(!fs.existsSync(path.join(outDir, 'escape')) && !fs.existsSync(path.resolve(outDir, '..', 'escape')), 'nothing written outside');
    for (const [label, folder] of Object.entries(f.details!.folders as Record<string, string>)) {
      const want = rows.filter((r) => r[1] === label).length;
      assert.equal(fs.readdirSync(path.join(foldersOut, folder)).length, want, `class ${label}`);
    }
    // Symlink mode links to the originals.
    const linksOut = path.join(outDir, 'links');
    await runExport(project, { datasetId, subject: 'labels', format: 'folders', out: linksOut, options: { mode: 'symlink' } });
    const someLink = fs.readdirSync(linksOut, { recursive: true, withFileTypes: true }).find((d) => d.isSymbolicLink())!;
    assert.ok(fs.existsSync(fs.realpathSync(path.join(someLink.parentPath, someLink.name))));

    // Labels: COCO JSON.
    const cocoOut = path.join(outDir, 'labels.json');
    await runExport(project, { datasetId, subject: 'labels', format: 'coco', out: cocoOut });
    const coco = JSON.parse(fs.readFileSync(cocoOut, 'utf8'));
    assert.equal(coco.images.length, labelled);
    assert.equal(coco.annotations.length, labelled);
    assert.equal(coco.categories.length, new Set(rows.slice(1).map((r) => r[1])).size);
    const catName = new Map(coco.categories.map((c: { id: number; name: string }) => [c.id, c.name]));
    assert.equal(catName.get(coco.annotations.find((a: { image_id: number }) => a.image_id === firstImage).category_id), '../../escape');

    // Clusters: CSV matching the stored assignments.
    const clOut = path.join(outDir, 'clusters.csv');
    await runExport(project, { datasetId, subject: 'clusters', out: clOut });
    const cl = parseCsv(fs.readFileSync(clOut, 'utf8')).slice(1);
    const stored = assignments(project.db, clustering.clusteringId);
    assert.deepEqual(cl.map((r) => Number(r[1])), stored.imageIds);
    assert.deepEqual(cl.map((r) => Number(r[3])), Array.from(stored.clusters));

    // No overwrite without consent; with consent a file is replaced.
    await assert.rejects(runExport(project, { datasetId, subject: 'labels', format: 'csv', out: csvOut }), /already exists/);
    await runExport(project, { datasetId, subject: 'labels', format: 'csv', out: csvOut, overwrite: true });
    // A sidecar that exists also counts.
    fs.rmSync(npyOut);
    await assert.rejects(runExport(project, { datasetId, subject: 'embeddings', out: npyOut }), /emb\.csv already exists/);
    // A folder Loupe did not write is never replaced, even with consent; a previous export is.
    const userFolder = path.join(outDir, 'my-thesis');
    fs.mkdirSync(userFolder);
    fs.writeFileSync(path.join(userFolder, 'chapter1.txt'), 'precious');
    await assert.rejects(runExport(project, { datasetId, subject: 'labels', format: 'folders', out: userFolder, overwrite: true }), /did not write/);
    assert.equal(fs.readFileSync(path.join(userFolder, 'chapter1.txt'), 'utf8'), 'precious');
    await runExport(project, { datasetId, subject: 'labels', format: 'folders', out: foldersOut, overwrite: true });

    // Data-derived path segments cannot climb out.
    const staged = new StagedOutput(path.join(outDir, 'probe'), { kind: 'folder' });
    for (const bad of ['..', '../x', '/etc', 'a/../../b', '.']) assert.throws(() => staged.join(bad), /stay inside/, bad);
    staged.abort();

    // A failing exporter leaves neither the destination nor its staging behind.
    const failing: Exporter = {
      subject: 'labels', format: 'broken', output: 'folder', description: 'fails half-way',
      async write(_s, target) {
        fs.writeFileSync(target.join('half.txt'), 'x');
        throw new Error('disk on fire');
      },
    };
    const brokenOut = path.join(outDir, 'broken');
    await assert.rejects(runExport(project, { datasetId, subject: 'labels', format: 'broken', out: brokenOut }, { exporters: [...exportersFrom(), failing] }), /disk on fire/);
    assert.ok(!fs.existsSync(brokenOut));
    assert.deepEqual(fs.readdirSync(outDir).filter((n) => n.includes('partial')), []);

    // The host API refuses a taken destination before starting a job, and runs a good one as a job.
    await assert.rejects(host.call('export.start', { datasetId, subject: 'labels', format: 'csv', out: csvOut }), /already exists/);
    await assert.rejects(host.call('export.start', { datasetId, subject: 'labels', out: 'relative/path.csv' }), /absolute/);
    const { jobId } = (await host.call('export.start', { datasetId, subject: 'labels', format: 'coco', out: path.join(outDir, 'via-api.json') })) as { jobId: number };
    assert.equal((await host.jobs.waitFor(jobId)).state, 'done');
    assert.equal(JSON.parse(fs.readFileSync(path.join(outDir, 'via-api.json'), 'utf8')).images.length, labelled);
  } finally {
    host.close();
  }
  // The CLI: list formats, export, and a clear error for an unknown format.
  const list = spawnSync(process.execPath, [bin, 'export', dir, '--list', '--json'], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.ok((JSON.parse(list.stdout) as { format: string }[]).some((r) => r.format === 'onnx'));
  const cliOut = path.join(tempDir('cli-out'), 'enc.onnx');
  const cli = spawnSync(process.execPath, [bin, 'export', dir, 'encoder', '--format', 'onnx', cliOut, '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr + cli.stdout);
  assert.deepEqual(JSON.parse(cli.stdout).files, [cliOut]);
  const bad = spawnSync(process.execPath, [bin, 'export', dir, 'labels', '--format', 'xlsx', path.join(tempDir('cli-out'), 'x.xlsx')], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no "xlsx" export for labels[\s\S]*csv, folders, coco/);
});
