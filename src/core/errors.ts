/** Base class of every error vireo raises on purpose: the message says what to do or what was wrong. */
export class VireoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor or layer received a shape it cannot work with. */
export class ShapeError extends VireoError {}

/** A file or byte buffer is not what it claims to be (truncated, corrupt, wrong format). */
export class FormatError extends VireoError {}

/** A state dict does not match the model: a missing, unexpected or misshaped tensor. */
export class StateDictError extends VireoError {}

/** An option or argument is out of its valid range. */
export class ArgumentError extends VireoError {}

/**
 * A backend failed while running a step (an unexpected exception from its kernel or memory, a lost device):
 * not a mistake in the caller's input. `auto` placement removes that backend and rebuilds on the rest.
 */
export class BackendFault extends VireoError {
  constructor(
    readonly backend: string,
    readonly layer: string,
    override readonly cause: unknown,
  ) {
    super(`backend '${backend}' failed in layer '${layer}': ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A model, input or option asks for more than a stated limit (memory, file size, threads). */
export class LimitError extends VireoError {}

/**
 * A GPU device was lost (driver reset, GPU removed, or a test's simulated loss). The model that raised it
 * has already moved its layers to wasm; values that lived only on the device are gone, so whoever holds
 * a host copy (fit's snapshots, a checkpoint) restores it and runs again.
 */
export class DeviceLostError extends VireoError {
  constructor(
    readonly backend: string,
    readonly reason: string,
    message: string,
    /** Parameters whose newest values were only on the device (trained since the last host sync). */
    readonly staleParameters: string[] = [],
  ) {
    super(message);
  }
}
