// Names shared by the native backend and the ops that dispatch to it. Kept free of Node imports so
// the engine's ops, layers and losses also bundle for a browser (WebGPU in Chromium/Electron).

export const NATIVE_BACKEND = 'native';

/** Kernel names of the fused ops that only this backend implements (see ../ops.ts). */
export const FusedKernel = {
  batchNorm: 'LoupeBatchNorm',
  batchNormGrad: 'LoupeBatchNormGrad',
  addRelu: 'LoupeAddRelu',
  reluGrad: 'LoupeReluGrad',
  globalAvgPool: 'LoupeGlobalAvgPool',
  globalAvgPoolGrad: 'LoupeGlobalAvgPoolGrad',
  adam: 'LoupeAdam',
  maxPool: 'LoupeMaxPool',
  maxPoolGrad: 'LoupeMaxPoolGrad',
  cropAndResize: 'LoupeCropAndResize',
  colorAffine: 'LoupeColorAffine',
  gaussianBlur: 'LoupeGaussianBlur',
  solarizeNormalize: 'LoupeSolarizeNormalize',
} as const;
