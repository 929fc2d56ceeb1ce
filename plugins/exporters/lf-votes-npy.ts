// The LF votes of the latest weak-supervision session as a NumPy int8 matrix [images, LFs]
// (class index, −1 = abstain), with a CSV of the LFs (key, description, class, coverage, the
// expert's answer) and a CSV of the rows (image id, path): what Snorkel or a custom label model
// takes as input.
import { CsvWriter } from '../../core/export/csv.ts';
import { writeNpy } from '../../core/export/npy.ts';
import { API_VERSION, type Exporter, type Plugin } from '../../core/plugins/contract.ts';

const exporter: Exporter = {
  subject: 'lf-votes', format: 'npy', output: 'file', extension: '.npy', sidecars: ['.lfs.csv', '.rows.csv'],
  description: 'NumPy int8 matrix (images × rules, class index or −1), with CSVs of the rules and of the images.',
  options: [{ key: 'rules', help: 'the rules the label model uses, or every candidate', choices: ['used', 'all'], default: 'used' }],
  async write(sources, target, options) {
    const v = sources.lfVotes(options.rules === 'all' ? 'all' : 'used');
    writeNpy(target.file(), v.votes, [v.imageIds.length, v.lfs.length]);
    const lfs = new CsvWriter(target.sidecar('.lfs.csv'), ['column', 'key', 'description', 'class', 'class_index', 'coverage', 'answer']);
    v.lfs.forEach((l, col) => lfs.row([col, l.key, l.description, l.className, v.classNames.indexOf(l.className), l.coverage, l.answer ?? '']));
    lfs.close();
    const byId = new Map(sources.images().map((im) => [im.id, im]));
    const rows = new CsvWriter(target.sidecar('.rows.csv'), ['row', 'image_id', 'path']);
    v.imageIds.forEach((id, r) => rows.row([r, id, byId.get(id)?.path ?? '']));
    rows.close();
    return { count: v.lfs.length, details: { images: v.imageIds.length, sessionId: v.sessionId } };
  },
};

export const lfVotesNpyExporter: Plugin<Exporter> = {
  manifest: { id: 'export-lf-votes-npy', kind: 'exporter', version: '1.0.0', apiVersion: API_VERSION, name: 'LF votes (.npy)', description: exporter.description },
  activate: () => exporter,
};
