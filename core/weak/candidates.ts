// Runs the LF generators (built-in and user plugins) on a context and keeps one candidate per
// distinct behaviour: LFs that vote the same class on exactly the same rows are one LF to the
// expert, whichever generator proposed them. Empty ones are dropped; a generator that breaks the
// contract is reported and skipped, never fatal.
import { createHash } from 'node:crypto';
import { clusterLfGenerator } from '../../plugins/lf-generators/cluster.ts';
import { directionLfGenerator } from '../../plugins/lf-generators/direction.ts';
import { neighborLfGenerator } from '../../plugins/lf-generators/neighbor.ts';
import { prototypeLfGenerator } from '../../plugins/lf-generators/prototype.ts';
import type { LfCandidate, LfContext, LfGenerator, Plugin } from '../plugins/contract.ts';
import { pluginContext, validateLfCandidates, validateLfGenerator } from '../plugins/registry.ts';

export const builtinLfGenerators: Plugin<LfGenerator>[] = [prototypeLfGenerator, directionLfGenerator, clusterLfGenerator, neighborLfGenerator];

export interface Lf extends LfCandidate {
  family: string;
  generator: string;
  /** Fraction of rows it fires on. */
  coverage: number;
}

export interface CandidateSet {
  lfs: Lf[];
  /** Generators that failed, with the reason. */
  problems: { generator: string; reason: string }[];
  /** Candidates proposed before de-duplication. */
  proposed: number;
}

function behaviourKey(c: LfCandidate): string {
  const h = createHash('sha1');
  h.update(String(c.classIndex));
  h.update(new Uint8Array(c.fires.buffer, c.fires.byteOffset, c.fires.byteLength));
  return h.digest('base64');
}

export function generateCandidates(ctx: LfContext, plugins: Plugin[] = builtinLfGenerators as Plugin[]): CandidateSet {
  const rows = ctx.imageIds.length;
  const seen = new Set<string>();
  const lfs: Lf[] = [];
  const problems: CandidateSet['problems'] = [];
  let proposed = 0;
  for (const plugin of plugins) {
    const id = plugin.manifest.id;
    let candidates: LfCandidate[];
    let family: string;
    try {
      const generator = plugin.activate(pluginContext(id)) as LfGenerator;
      const bad = validateLfGenerator(generator);
      if (bad) throw new Error(bad);
      family = generator.family;
      candidates = generator.generate(ctx);
      const invalid = validateLfCandidates(candidates, rows, ctx.classes.length);
      if (invalid) throw new Error(invalid);
    } catch (err) {
      problems.push({ generator: id, reason: (err as Error).message });
      continue;
    }
    proposed += candidates.length;
    for (const c of candidates) {
      if (c.fires.length === 0) continue;
      const key = behaviourKey(c);
      if (seen.has(key)) continue;
      seen.add(key);
      lfs.push({ ...c, key: `${id}/${c.key}`, ...(c.group !== undefined ? { group: `${id}/${c.group}` } : {}), family, generator: id, coverage: c.fires.length / rows });
    }
  }
  return { lfs, problems, proposed };
}
