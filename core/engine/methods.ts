// The SSL methods that ship with Loupe. They are written against the same contract
// (./method.ts) that third-party method plugins use.
import { simclr } from '../../plugins/ssl/simclr.ts';
import { LoupeError } from '../errors.ts';
import type { SslMethod } from './method.ts';

export const builtinSslMethods: SslMethod[] = [simclr];

export function findSslMethod(id: string, extra: SslMethod[] = []): SslMethod {
  const m = [...builtinSslMethods, ...extra].find((x) => x.id === id);
  if (!m) {
    throw new LoupeError('invalid-input', `Unknown method "${id}".`, {
      hint: `Available: ${[...builtinSslMethods, ...extra].map((x) => x.id).join(', ')}.`,
    });
  }
  return m;
}
