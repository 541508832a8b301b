export { importOnnx, OnnxModel, unsupportedNodes, type ImportOnnxOptions, type UnsupportedNode } from './model.js';
export { UnsupportedOpError } from './builder.js';
export { decodeOnnx, decodeTensorProto, type OnnxTensor } from './decode.js';
export { onnxWithNewHead, type OnnxHeadOptions, type OnnxWithHead } from './head.js';
