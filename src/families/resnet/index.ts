import type { Family } from '../family.js';
import { type ResNetConfig, ResNetSchema, resNetTitle } from './config.js';
import { resNetForward } from './model.js';
import { resNetOnnx } from './onnx.js';
import { bufferShapes, initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { countParams, forwardFlops } from './size.js';

/** The CIFAR ResNet (model.ts): kuangliu's, as kentaroy47/vision-transformers-cifar10's res18 and res34. */
export const resnet: Family<ResNetConfig> = {
  name: 'resnet',
  schema: ResNetSchema,
  title: resNetTitle,
  paramShapes,
  bufferShapes,
  init: initParams,
  forward: resNetForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  // Our names are PyTorch's: nothing to translate.
  pytorch: {
    module: 'ResNet of kentaroy47/vision-transformers-cifar10 (models/resnet.py, kuangliu/pytorch-cifar)',
    name: (ours) => ours,
    constructorArgs: (cfg) => ({ key: 'resnet_args', args: { block: 'BasicBlock', num_blocks: cfg.num_blocks, num_classes: cfg.num_classes } }),
  },
  onnx: resNetOnnx,
};
