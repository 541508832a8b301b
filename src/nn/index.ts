export { Module, type RngState, type StateDict } from './module.js';
export { Conv2d, type Conv2dOptions } from './layers/conv.js';
export { Linear } from './layers/linear.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type Pool2dOptions } from './layers/pool.js';
export { ReLU, ReLU6, LeakyReLU, Sigmoid, Tanh } from './layers/activation.js';
export { BatchNorm2d, Dropout, Flatten, Softmax, Residual } from './layers/misc.js';
export { Sequential } from './layers/sequential.js';
export { CrossEntropyLoss, MSELoss } from '../train/losses.js';
