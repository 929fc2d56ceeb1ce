// The training methods that ship with Loupe: the SSL methods and fine-tuning on labels. They are
// written against the same contract (./method.ts) that third-party method plugins use.
import { barlowTwins } from '../../plugins/ssl/barlow-twins.ts';
import { byol } from '../../plugins/ssl/byol.ts';
import { dino } from '../../plugins/ssl/dino.ts';
import { fineTune } from '../../plugins/ssl/fine-tune.ts';
import { mocoV2 } from '../../plugins/ssl/moco-v2.ts';
import { rotnet } from '../../plugins/ssl/rotnet.ts';
import { sela } from '../../plugins/ssl/sela.ts';
import { simclr } from '../../plugins/ssl/simclr.ts';
import { simsiam } from '../../plugins/ssl/simsiam.ts';
import { swav } from '../../plugins/ssl/swav.ts';
import { vicreg } from '../../plugins/ssl/vicreg.ts';
import { LoupeError } from '../errors.ts';
import type { SslMethod } from './method.ts';

/** The SSL methods, then fine-tuning on labels (same contract; it starts from one of their runs). */
export const builtinSslMethods: SslMethod[] = [simclr, mocoV2, byol, simsiam, barlowTwins, vicreg, swav, dino, rotnet, sela, fineTune];

export function findSslMethod(id: string, extra: SslMethod[] = []): SslMethod {
  const m = [...builtinSslMethods, ...extra].find((x) => x.id === id);
  if (!m) {
    throw new LoupeError('invalid-input', `Unknown method "${id}".`, {
      hint: `Available: ${[...builtinSslMethods, ...extra].map((x) => x.id).join(', ')}.`,
    });
  }
  return m;
}
