/**
 * `npm run bench -- iws [--sets fashion-mnist,emoji|none] [--queries 0,10,25,50,100] [--noise 0] [--seeds 3] [--active-seeds 24]`
 *
 * Interactive weak supervision with the simulated expert (useful ⇔ LF accuracy on its coverage
 * > 0.7) on the real labelled sets, from the SimCLR embedding a user gets with the fast-CPU preset
 * (trained here once if not cached, ~10 min per set) and 3 example images per class: end-model
 * accuracy on the held-out split against the number of answers (0: the example images alone), for
 * straddle and random acquisition, against active labelling of as many single images (same end
 * model; the app's suggestion model and picks, and uncertainty alone), and the fully supervised ceiling; averaged over several draws of the example images
 * (active labelling, which takes seconds a draw, over more of them, with its macro recall).
 * Every good candidate at once (all the LFs the expert would accept) tells acquisition's shortfall
 * from the candidates' and the embedding's; the end model on the true labels of the rows the
 * label model covers tells the rules' errors from where they fire, a per-class table (share
 * labelled by the rules, end model against ceiling) which classes the rules miss, and where the
 * rules label, the label model against the model of the example images alone (do the rules tell
 * anything new?), and which good rules would correct that model, picked by the truth (how far any
 * acquisition could reach with as many accepted rules). Then the label model's fit
 * time on 100,000 images × 500 LFs, and the time of one refill of active-labelling suggestions
 * (the suggestion model and the picks) on 100,000 images.
 */
import { activateBackend } from '../core/engine/backends/select.ts';
import { Rng } from '../core/engine/rng.ts';
import { simulationDataFor } from '../core/weak/data.ts';
import { SUGGESTION_GRAPH_ROWS, suggestionModel } from '../core/weak/active.ts';
import { emptyLabelModel, fitLabelModel, majorityVote } from '../core/weak/label-model.ts';
import { pickImagesToLabel } from '../core/weak/pick-images.ts';
import { argmaxRows, predictProbabilities, rowsOf } from '../core/learn/classifier.ts';
import { l2normalizeRows } from '../core/learn/vectors.ts';
import { whitenedGeometry } from '../core/learn/whiten.ts';
import { acceptAllUseful, classBalanceOf, classSharesOf, rulesThatCorrect, simulateActiveLabeling, simulateIws, supervisedCeiling, type ActiveLabelingPoint, type CorrectingRules, type SimulationData, type SimulationResult } from '../core/weak/simulate.ts';
import { voteMatrix } from '../core/weak/votes.ts';
import { option } from './args.ts';
import { pretrainedRun } from './data/runs.ts';
import { openBenchSet, type SetName } from './data/sets.ts';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** What the simulated expert answers to the class-size question, and the rough shares it gives. */
function expertSizes(data: SimulationData): string {
  if (classBalanceOf(data) === 'equal') return 'about equally common';
  const given = classSharesOf(data).flatMap((p, c) => (p === null ? [] : [`${data.classNames[c]} ${p}%`]));
  return `not equally common (shares given: ${given.join(', ') || 'none'}; the rest blank)`;
}

interface Draw {
  straddle: SimulationResult;
  random: SimulationResult;
  active: ActiveLabelingPoint[];
  /** Active labelling by uncertainty alone (least certain from the first pick). */
  uncertain: { labels: number; accuracy: number }[];
  allGood: { accepted: number; endModel: number };
  /** Good rules that would correct the examples-only model, picked by the truth, as many as straddle accepted at 50 answers. */
  correcting: CorrectingRules | null;
  /** The app's mixed session: straddle rule answers, their labels applied, then active labelling to 50 answers in all. */
  mixed: { rules: number; accuracy: number }[];
}

/** Rule answers before images in the mixed session, of 50 answers in all (counts the straddle run has). */
const MIXED_RULES = [10, 25];

/** Active labelling to 50 answers in all from the rules straddle had at each of MIXED_RULES. */
async function mixedSessions(data: SimulationData, seed: number, straddle: SimulationResult): Promise<Draw['mixed']> {
  const out: Draw['mixed'] = [];
  for (const answers of MIXED_RULES) {
    const point = straddle.points.find((p) => p.queries === answers);
    if (point) out.push({ rules: answers, accuracy: (await simulateActiveLabeling(data, [50 - answers], { seed, rules: point.rules }))[0]!.accuracy });
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

async function accuracyVsQueries(name: SetName, queries: number[], noise: number, seeds: number, activeSeeds: number): Promise<void> {
  const set = await openBenchSet(name);
  if (!set) return void console.log(`${name}: skipped (data set unavailable).`);
  try {
    const run = await pretrainedRun(set, name);
    const data = await simulationDataFor(set.host.project, { runId: run.id });
    // Each seed draws other example images (and k-means starts): one draw decides too much.
    const runs: Draw[] = [];
    const at50 = queries.reduce((best, q, i) => (q > 0 && q <= 50 && (best < 0 || q > queries[best]!) ? i : best), -1);
    for (let seed = 0; seed < seeds; seed++) {
      const straddle = await simulateIws(data, { queries, acquisition: 'straddle', noise, seed, diagnose: true });
      const accepted = at50 >= 0 ? straddle.points[at50]!.accepted : 0;
      runs.push({
        straddle,
        random: await simulateIws(data, { queries, acquisition: 'random', noise, seed }),
        active: await simulateActiveLabeling(data, queries, { seed }),
        uncertain: await simulateActiveLabeling(data, queries, { seed, only: 'uncertain' }),
        allGood: await acceptAllUseful(data, { seed }),
        correcting: accepted > 0 ? await rulesThatCorrect(data, { seed, rules: [accepted] }) : null,
        mixed: await mixedSessions(data, seed, straddle),
      });
    }
    const { accuracy: ceiling, perClass: ceilingPerClass } = await supervisedCeiling(data);
    const s0 = runs[0]!.straddle;
    console.log(`\n${name}: ${data.classNames.length} classes, ${data.train.length} training / ${data.test.length} held-out images, embedding of run #${run.id}; ${s0.candidates} candidate LFs; 3 example images per class; the expert says the classes are ${expertSizes(data)}; noise ${noise}; the label model uses the accepted rules and those the ensemble predicts good, as a new session in the app does; mean of ${seeds} draws of the examples (± standard deviation).`);
    console.log('| answers | straddle: label model acc (coverage) | MV acc | end model | end model on the true labels where the label model labels | … on its right labels only (wrong ones dropped) | random: label model acc (coverage) | end model | straddle − random (end model) | active labelling (same number of images) | active: least certain only | active / ceiling | end model / ceiling (straddle) |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    queries.forEach((q, i) => {
      const at = (f: (r: Draw) => number) => runs.map(f);
      const sEnd = at((r) => r.straddle.points[i]!.endModel), rEnd = at((r) => r.random.points[i]!.endModel);
      const diff = sEnd.map((v, j) => v - rEnd[j]!);
      const aEnd = at((r) => r.active[i]!.accuracy), uEnd = at((r) => r.uncertain[i]!.accuracy);
      const lm = (f: (r: Draw) => { accuracy: number; coverage: number }) => (q === 0 ? '—' : `${pct(mean(at((r) => f(r).accuracy)))} (${pct(mean(at((r) => f(r).coverage)))})`);
      const truth = q === 0 ? '—' : pct(mean(at((r) => r.straddle.points[i]!.truthWhereCovered ?? NaN)));
      const right = q === 0 ? '—' : pct(mean(at((r) => r.straddle.points[i]!.rightWhereCovered ?? NaN)));
      console.log(`| ${q} | ${lm((r) => r.straddle.points[i]!.labelModel)} | ${q === 0 ? '—' : pct(mean(at((r) => r.straddle.points[i]!.majorityVote.accuracy)))} | ${pct(mean(sEnd))} ± ${pct(spread(sEnd))} | ${truth} | ${right} | ${lm((r) => r.random.points[i]!.labelModel)} | ${pct(mean(rEnd))} ± ${pct(spread(rEnd))} | ${(100 * mean(diff)).toFixed(1)} ± ${(100 * spread(diff)).toFixed(1)} pt | ${pct(mean(aEnd))} ± ${pct(spread(aEnd))} | ${pct(mean(uEnd))} ± ${pct(spread(uEnd))} | ${(mean(aEnd) / ceiling).toFixed(2)} | ${(mean(sEnd) / ceiling).toFixed(2)} |`);
    });
    const secs = (f: (r: Draw) => number) => mean(runs.map(f)).toFixed(0);
    console.log(`Fully supervised ceiling (${data.train.length} labels, same end model): ${pct(ceiling)}. Simulation time per draw: straddle ${secs((r) => r.straddle.seconds)} s, random ${secs((r) => r.random.seconds)} s.`);
    const mixed = runs[0]!.mixed.map(({ rules }, m) => {
      const acc = runs.map((r) => r.mixed[m]!.accuracy);
      return `${rules} rule answers then ${50 - rules} images, ${pct(mean(acc))} ± ${pct(spread(acc))} (${(mean(acc) / ceiling).toFixed(2)} of the ceiling)`;
    });
    if (mixed.length) console.log(`Mixed session, 50 answers in all (straddle, the rules' labels applied, then active labelling as the app suggests): ${mixed.join('; ')}.`);
    // Active labelling costs seconds a draw where a rule session costs a minute or more, so it gets
    // more draws: a draw of 3 examples per class moves it by ±1 point, and 3 draws cannot tell 0.89
    // from 0.90 of the ceiling. Macro recall (mean of the per-class accuracies) beside accuracy:
    // where one class holds most images, accuracy alone hides the classes the model never predicts.
    const many = runs.map((r) => r.active);
    for (let seed = runs.length; seed < activeSeeds; seed++) many.push(await simulateActiveLabeling(data, queries, { seed }));
    const line = queries.map((q, i) => {
      const acc = many.map((a) => a[i]!.accuracy), rec = many.map((a) => mean(a[i]!.perClass));
      return `${q}: ${pct(mean(acc))} ± ${pct(spread(acc))} (${(mean(acc) / ceiling).toFixed(3)} of the ceiling; macro recall ${pct(mean(rec))})`;
    });
    console.log(`Active labelling over ${many.length} draws of the examples: ${line.join('; ')}. Ceiling's macro recall ${pct(mean(ceilingPerClass))}.`);
    // Where the shortfall lies: per class, at the last count of answers up to 50.
    if (at50 >= 0) {
      const cls = (c: number, f: (p: NonNullable<SimulationResult['points'][number]['perClass']>) => number[]) => mean(runs.map((r) => f(r.straddle.points[at50]!.perClass!)[c]!));
      console.log(`Per class after ${queries[at50]} straddle answers (mean of the draws): the share of its training images the label model labels, the end model's accuracy on its held-out images, active labelling's after as many images, and the ceiling's.`);
      console.log('| class | labelled by the rules | end model | active labelling, as many images | ceiling |');
      console.log('|---|---|---|---|---|');
      data.classNames.forEach((name, c) => console.log(`| ${name} | ${pct(cls(c, (p) => p.coverage))} | ${pct(cls(c, (p) => p.endModel))} | ${pct(mean(runs.map((r) => r.active[at50]!.perClass[c]!)))} | ${pct(ceilingPerClass[c]!)} |`));
    }
    // Do the rules tell what the example images do not? Where the label model labels, its accuracy
    // against the examples-only end model's; and the latter's on the rows no accepted rule reaches.
    const where = (i: number, f: (w: NonNullable<SimulationResult['points'][number]['whereRulesLabel']>) => number) => pct(mean(runs.map((r) => f(r.straddle.points[i]!.whereRulesLabel!))));
    console.log('Where the rules label (straddle, training images, mean of the draws): the label model\'s accuracy there, the accuracy there of the end model trained on the example images alone, and the latter\'s on the images the rules leave.');
    console.log('| answers | label model where it labels | examples-only model there | examples-only model elsewhere |');
    console.log('|---|---|---|---|');
    queries.forEach((q, i) => { if (q > 0) console.log(`| ${q} | ${where(i, (w) => w.labelModel)} | ${where(i, (w) => w.examplesOnly)} | ${where(i, (w) => w.examplesOnlyElsewhere)} |`); });
    const allGood = runs.map((r) => r.allGood.endModel);
    const correcting = runs.flatMap((r) => (r.correcting ? [r.correcting] : []));
    if (correcting.length) {
      // Which rules would have helped, by the truth: where better acquisition could get (not a bound: a greedy pick).
      const band = (b: number) => {
        const cand = mean(correcting.map((c) => c.bands[b]!.candidates)), good = mean(correcting.map((c) => c.bands[b]!.good));
        return `${correcting[0]!.bands[b]!.name} ${cand.toFixed(0)} (${pct(good / Math.max(1, cand))} good, mean gain ${mean(correcting.map((c) => c.bands[b]!.meanGain)).toFixed(1)} rows)`;
      };
      const best = correcting.map((c) => c.bestByGain[0]!);
      console.log(`Rules that would correct the examples-only model (by the truth; gain: training rows a rule labels right that the model gets wrong, less the reverse). Candidates by how far that model agrees with them (another class on < 10%, < 50%, more of their rows): ${[0, 1, 2].map(band).join('; ')}. The good rules of most gain, as many as straddle accepted after ${queries[at50]} answers (${mean(best.map((b) => b.rules)).toFixed(0)}), class by class: end model ${pct(mean(best.map((b) => b.endModel)))} ± ${pct(spread(best.map((b) => b.endModel)))}, ${(mean(best.map((b) => b.endModel)) / ceiling).toFixed(2)} of the ceiling: where an acquisition that knew the truth would get.`);
    }
    console.log(`Every good candidate at once — the label model on every LF the simulated expert would accept (${secs((r) => r.allGood.accepted)} of ${s0.candidates}), where endless answers would lead: end model ${pct(mean(allGood))} ± ${pct(spread(allGood))}, ${(mean(allGood) / ceiling).toFixed(2)} of the ceiling.`);
  } finally {
    set.host.close();
  }
}

function labelModelTiming(rows: number, lfs: number, classes: number): void {
  const rng = new Rng(3);
  const y = Int32Array.from({ length: rows }, () => rng.int(classes));
  const specs = Array.from({ length: lfs }, (_, j) => ({ c: j % classes, a: rng.uniform(0.55, 0.95), cov: rng.uniform(0.01, 0.08) }));
  const fires = specs.map((s) => {
    const out: number[] = [];
    for (let i = 0; i < rows; i++) {
      if (rng.uniform(0, 1) >= s.cov) continue;
      // Fires on its class with probability a, elsewhere otherwise.
      if ((y[i] === s.c) === rng.uniform(0, 1) < s.a) out.push(i);
    }
    return { classIndex: s.c, fires: Uint32Array.from(out) };
  });
  let t = performance.now();
  const m = voteMatrix(rows, classes, fires);
  const build = performance.now() - t;
  t = performance.now();
  majorityVote(m);
  const mv = performance.now() - t;
  t = performance.now();
  const lm = fitLabelModel(m);
  const fit = performance.now() - t;
  t = performance.now();
  fitLabelModel(m, { iterations: 50, tolerance: 0 });
  const fixed = performance.now() - t;
  console.log(`\nLabel model on ${rows.toLocaleString('en')} images × ${lfs} LFs (${classes} classes, ${m.lf.length.toLocaleString('en')} votes): vote matrix ${build.toFixed(0)} ms, majority vote ${mv.toFixed(0)} ms, EM fit ${fit.toFixed(0)} ms to convergence (${lm.iterations} iterations, target < 1 s); 50 iterations regardless: ${fixed.toFixed(0)} ms.`);
}

/**
 * One refill of the Label view's image queue, without the database: the suggestion model (its
 * neighbour graph capped at SUGGESTION_GRAPH_ROWS) and 10 picks, on `rows` synthetic embeddings
 * (`classes` blobs in 128 dimensions) with 10 labels per class. The queue asks for the next batch
 * while 5 images are left, so a refill should take under 5 s at one label a second.
 */
async function suggestionTiming(rows: number, classes: number): Promise<void> {
  const dim = 128, rng = new Rng(5);
  const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => rng.normal()));
  const raw = new Float32Array(rows * dim), truth = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    truth[i] = rng.int(classes);
    for (let j = 0; j < dim; j++) raw[i * dim + j] = 0.3 * centres[truth[i]!]![j]! + rng.normal();
  }
  const x = l2normalizeRows(raw, dim), known = new Int32Array(rows).fill(-1);
  for (let i = 0; i < 10 * classes; i++) known[i] = truth[i]!;
  const all = Array.from({ length: rows }, (_, i) => i);
  const t = performance.now();
  // As active.ts does: the picks' geometry (whiten.ts) first — fitted and projected on the first
  // refill of an embedding, kept after — which the suggestion model's graph choice reads too.
  const geometry = whitenedGeometry(x, dim);
  const whiten = performance.now() - t;
  const modelAt = performance.now();
  const model = (await suggestionModel(x, dim, all, known, emptyLabelModel(rows, classes), { classes, classBalance: 'unknown', whitened: geometry }))!;
  const fit = performance.now() - modelAt;
  // Every image's probabilities once, for the picks and the progress figures (every image's guess).
  const probs = predictProbabilities(model, x, all);
  argmaxRows(probs, classes);
  await pickImagesToLabel({ features: geometry, dim, pool: all.slice(10 * classes), covered: all.slice(0, 10 * classes), classes, count: 10, probabilities: (r) => rowsOf(probs, classes, r) });
  const total = performance.now() - t;
  console.log(`Active-labelling refill on ${rows.toLocaleString('en')} images (${classes} classes, 128 dims, neighbour graph on ${SUGGESTION_GRAPH_ROWS.toLocaleString('en')}): suggestion model ${(fit / 1000).toFixed(1)} s, with every image's guess (the progress figures) and 10 picks ${(total / 1000).toFixed(1)} s (target < 5 s: the queue refills with 5 images left), of which the picks' whitened geometry ${(whiten / 1000).toFixed(1)} s (first refill of an embedding only).`);
}

export async function run(args: string[]): Promise<void> {
  await activateBackend();
  // `--sets none`: the label model's timing alone.
  const sets = option(args, 'sets', 'fashion-mnist,emoji').split(',').filter((s) => s && s !== 'none') as SetName[];
  const queries = option(args, 'queries', '0,10,25,50,100').split(',').map(Number);
  const noise = Number(option(args, 'noise', '0'));
  const seeds = Number(option(args, 'seeds', '3'));
  const activeSeeds = Number(option(args, 'active-seeds', '24'));
  for (const name of sets) await accuracyVsQueries(name, queries, noise, seeds, activeSeeds);
  labelModelTiming(100_000, 500, 10);
  await suggestionTiming(100_000, 10);
}
