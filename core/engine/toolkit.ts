// What the engine hands to SSL-method plugins through activate(ctx): tfjs itself (the plugin must
// use Loupe's instance, whose backend is selected and whose kernels are registered) and the
// building blocks the built-in methods are made of. Third-party plugins live outside Loupe's
// node_modules, so they cannot import these.
import * as tf from '@tensorflow/tfjs';
import { centerView, simclrView } from './augment.ts';
import { dense, mlp } from './nn/layers.ts';
import { cosineMomentum, teacherMomentum } from './optim.ts';
import { copyAsTeacher, emaTowards, stopGradient } from './teacher.ts';
import { multiCropViews } from '../../plugins/ssl/dino.ts';
import * as losses from '../../plugins/ssl/losses.ts';

export const sslToolkit = {
  layers: { mlp, dense },
  views: { simclrView, centerView, multiCropViews },
  losses,
  teacher: { copyAsTeacher, emaTowards, stopGradient, cosineMomentum, teacherMomentum },
};

export type SslToolkit = typeof sslToolkit;
export { tf };
