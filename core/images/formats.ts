import path from 'node:path';

/** Extensions Loupe decodes (sharp/libvips, plus our own BMP reader). */
export const supportedExtensions = new Set([
  '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.tif', '.tiff', '.gif', '.bmp', '.dib', '.avif', '.heic', '.heif',
]);

/** Image formats people keep beside their data that we do not read yet: recorded as failed, with a reason. */
export const knownUnsupported: Record<string, string> = {
  '.dcm': 'DICOM', '.dicom': 'DICOM', '.nii': 'NIfTI', '.czi': 'Zeiss CZI', '.nd2': 'Nikon ND2', '.lif': 'Leica LIF',
  '.psd': 'Photoshop', '.jp2': 'JPEG 2000', '.j2k': 'JPEG 2000', '.jxl': 'JPEG XL', '.raw': 'camera RAW',
  '.cr2': 'camera RAW', '.nef': 'camera RAW', '.arw': 'camera RAW', '.dng': 'camera RAW', '.exr': 'OpenEXR',
  '.hdr': 'Radiance HDR', '.ico': 'icon', '.tga': 'Targa', '.ppm': 'Netpbm', '.pgm': 'Netpbm', '.pbm': 'Netpbm', '.svg': 'SVG (vector)',
};

export type Candidate = 'image' | 'unsupported' | 'ignore';

/** Classifies a file by name: images to import, known image formats to report, everything else to pass over. */
export function classify(file: string): Candidate {
  const base = path.basename(file);
  if (base.startsWith('.')) return 'ignore';
  const ext = path.extname(base).toLowerCase();
  if (supportedExtensions.has(ext)) return 'image';
  if (ext in knownUnsupported) return 'unsupported';
  return 'ignore';
}

export function unsupportedReason(file: string): string {
  const ext = path.extname(file).toLowerCase();
  const name = knownUnsupported[ext] ?? ext;
  return `Unsupported format (${name}). Convert it to TIFF or PNG to import it.`;
}
