// The SSL methods that ship with Loupe. They are written against the same contract
// (./method.ts) that third-party method plugins use.
import { barlowTwins } from '../../plugins/ssl/barlow-twins.ts';
import { byol } from '../../plugins/ssl/byol.ts';
import { dino } from '../../plugins/ssl/dino.ts';
import { mocoV2 } from '../../plugins/ssl/moco-v2.ts';
import { rotnet } from '../../plugins/ssl/rotnet.ts';
import { sela } from '../../plugins/ssl/sela.ts';
import { simclr } from '../../plugins/ssl/simclr.ts';
import { simsiam } from '../../plugins/ssl/simsiam.ts';
import { swav } from '../../plugins/ssl/swav.ts';
import { vicreg } from '../../plugins/ssl/vicreg.ts';
import { LoupeError } from '../errors.ts';
import type { SslMethod } from './method.ts';

export const builtinSslMethods: SslMethod[] = [simclr, mocoV2, byol, simsiam, barlowTwins, vicreg, swav, dino, rotnet, sela];

export function findSslMethod(id: string, extra: SslMethod[] = []): SslMethod {
  const m = [...builtinSslMethods, ...extra].find((x) => x.id === id);
  if (!m) {
    throw new LoupeError('invalid-input', `Unknown method "${id}".`, {
      hint: `Available: ${[...builtinSslMethods, ...extra].map((x) => x.id).join(', ')}.`,
    });
  }
  return m;
}
