// Release step, run once per platform (on CI machines of each OS/arch): builds the native kernels
// and copies the binary to native/prebuilds/<platform>-<arch>/, where the loader looks first, so
// installers and `npm ci` on machines without a C++ toolchain still get the fast CPU path.
// The binary dispatches AVX-512 / AVX2 / baseline code at run time, so one x64 build fits all x64 CPUs.
import fs from 'node:fs';
import path from 'node:path';
import { buildNative } from './build-native.mjs';

if (!buildNative({ force: true })) process.exit(1);
const root = path.resolve(import.meta.dirname, '..', 'native');
const dest = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dest, { recursive: true });
fs.copyFileSync(path.join(root, 'build', 'Release', 'loupe_kernels.node'), path.join(dest, 'loupe_kernels.node'));
console.log(`Prebuilt ${path.relative(process.cwd(), path.join(dest, 'loupe_kernels.node'))}`);
