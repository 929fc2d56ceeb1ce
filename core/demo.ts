import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { LoupeError } from './errors.ts';

interface EmojiEntry {
  image: string;
  category: string;
  has_img_google?: boolean;
  skin_variations?: Record<string, { image: string; has_img_google?: boolean }>;
}

/** Finds the emoji image package that ships with Loupe (a real, labelled image set: no download). */
export function emojiPackageDir(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('emoji-datasource-google/package.json'));
  } catch {
    return undefined;
  }
}

/**
 * Lays out the demo dataset inside the project as ImageNet-style folders (category/file.png),
 * so an import with labels from folder names gives 9 labelled classes. Copies, so the demo keeps
 * working if the package moves. Returns the folder to import.
 */
export function prepareEmojiDemo(projectDir: string, limitPerClass = Infinity): string {
  const pkg = emojiPackageDir();
  if (!pkg) {
    throw new LoupeError('not-found', 'The demo image set (emoji-datasource-google) is not installed.', {
      hint: 'Run the set-up command again (npm ci), or import a folder of your own images.',
    });
  }
  const entries = JSON.parse(fs.readFileSync(path.join(pkg, 'emoji.json'), 'utf8')) as EmojiEntry[];
  const out = path.join(projectDir, 'demo', 'emoji');
  const perClass = new Map<string, number>();
  for (const e of entries) {
    if (e.category === 'Component') continue;
    const images = [e, ...Object.values(e.skin_variations ?? {})].filter((v) => v.has_img_google !== false).map((v) => v.image);
    for (const image of images) {
      const n = perClass.get(e.category) ?? 0;
      if (n >= limitPerClass) break;
      const src = path.join(pkg, 'img', 'google', '64', image);
      if (!fs.existsSync(src)) continue;
      const dir = path.join(out, e.category);
      fs.mkdirSync(dir, { recursive: true });
      const dst = path.join(dir, image);
      if (!fs.existsSync(dst)) fs.copyFileSync(src, dst);
      perClass.set(e.category, n + 1);
    }
  }
  return out;
}
