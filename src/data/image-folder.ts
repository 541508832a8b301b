// torchvision's ImageFolder: root/<class>/<image>, classes sorted by name. Files are read on the main
// thread and decoded where the transforms run (a worker, or this thread).
import { FormatError } from '../core/errors.js';
import { Dataset } from './dataset.js';
import { joinPath, listDirectory, readBytes } from './files.js';
import type { RawSample } from './sample.js';
import type { Transform } from './transforms.js';

export const imageExtensions = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tif', '.tiff'];

export interface ImageFolderOptions {
  transform?: Transform | null;
  /** 3 (RGB, default) or 1 (grayscale). */
  channels?: 1 | 3;
  extensions?: string[];
}

export class ImageFolder extends Dataset {
  readonly length: number;

  constructor(
    readonly samples: { path: string; label: number }[],
    classes: string[],
    private readonly channels: 1 | 3,
    transform: Transform | null,
  ) {
    super();
    this.length = samples.length;
    this.classes = classes;
    this.transform = transform;
  }

  static async fromDirectory(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const exts = (options.extensions ?? imageExtensions).map((e) => e.toLowerCase());
    const classes = (await listDirectory(root)).filter((e) => e.isDirectory).map((e) => e.name);
    if (classes.length === 0) throw new FormatError(`${root}: no class subfolders`);
    const samples: { path: string; label: number }[] = [];
    for (let label = 0; label < classes.length; label++) {
      const dir = joinPath(root, classes[label]);
      for (const e of await listDirectory(dir)) {
        if (!e.isDirectory && exts.some((x) => e.name.toLowerCase().endsWith(x)))
          samples.push({ path: joinPath(dir, e.name), label });
      }
    }
    if (samples.length === 0) throw new FormatError(`${root}: no images with extensions ${exts.join(', ')} in its class folders`);
    // As torchvision's ImageFolder: a class without images is a mistake (a class the model would learn
    // never to predict, and one index off for the class names), not a class.
    const counts = new Array(classes.length).fill(0);
    for (const s of samples) counts[s.label]++;
    const empty = classes.filter((_, c) => counts[c] === 0);
    if (empty.length > 0)
      throw new FormatError(
        `${root}: class folder${empty.length > 1 ? 's' : ''} ${empty.map((c) => `'${c}'`).join(', ')} hold${empty.length > 1 ? '' : 's'} no images with extensions ${exts.join(', ')}; add images or remove the folder`,
      );
    return new ImageFolder(samples, classes, options.channels ?? 3, options.transform ?? null);
  }

  async raw(index: number): Promise<RawSample> {
    this.checkIndex(index);
    const { path, label } = this.samples[index];
    let data: Uint8Array;
    try {
      data = await readBytes(path);
    } catch (e) {
      throw new FormatError(`${path}: record ${index}: cannot read (${(e as Error).message})`);
    }
    return { image: { kind: 'encoded', data, source: `${path} (record ${index})`, channels: this.channels }, label };
  }
}
