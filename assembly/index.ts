// The only export surface of the AssemblyScript kernels. Each kernel family lives in its own file;
// every SIMD kernel has a scalar twin selected at compile time by ASC_FEATURE_SIMD.
export { heap_base } from './memory';
export * from './eltwise';
export * from './pool';
export * from './image';
export * from './grad_eltwise';
export * from './pool_grad';
export * from './col2im';
export * from './dwconv_grad';
export * from './optim';
export * from './gemm';
export * from './gemm_pack';
export * from './im2col';
export * from './broadcast';
export * from './tensor_ops';
export * from './unary_math';
export * from './reduce';
export * from './layer_norm';
