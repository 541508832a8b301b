import { nn } from '../index.js';

/** CIFAR-10's class names, in label order. */
export const cifar10Classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The reference CNN ('cifar-net', the classic CIFAR-10 network): 3×32×32 in, 10 logits out, 88.6 MFLOP per image. */
export function cifarNet(): nn.Sequential {
  return new nn.Sequential({
    conv1: new nn.Conv2d(3, 64, 3, { padding: 1 }),
    relu1: new nn.ReLU(),
    pool1: new nn.MaxPool2d(2),
    conv2: new nn.Conv2d(64, 128, 3, { padding: 1 }),
    relu2: new nn.ReLU(),
    pool2: new nn.MaxPool2d(2),
    conv3: new nn.Conv2d(128, 256, 3, { padding: 1 }),
    relu3: new nn.ReLU(),
    pool3: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc1: new nn.Linear(4096, 1024),
    relu4: new nn.ReLU(),
    fc2: new nn.Linear(1024, 512),
    relu5: new nn.ReLU(),
    fc3: new nn.Linear(512, 10),
  });
}
