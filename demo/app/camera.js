// The camera: getUserMedia with a front/back switch, and the plain message for each way it can fail.

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.facing = 'environment';
  }

  get running() {
    return this.stream !== null;
  }

  /** Starts (or restarts with the other facing mode); throws an Error whose message a user can act on. */
  async start(facing = this.facing) {
    this.stop();
    if (!navigator.mediaDevices?.getUserMedia)
      throw new Error('This browser gives no camera access here (it needs a secure page: https or localhost).');
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: facing, width: { ideal: 640 } },
        audio: false,
      });
    } catch (err) {
      throw new Error(cameraMessage(err));
    }
    this.facing = facing;
    const stream = this.stream;
    this.video.srcObject = stream;
    try {
      await this.video.play();
    } catch (err) {
      // Stopped or switched again before this stream started playing (a quick second tap): not a failure.
      if (this.stream !== stream) return;
      throw new Error(cameraMessage(err));
    }
    if (!this.video.videoWidth) await new Promise((r) => this.video.addEventListener('loadedmetadata', r, { once: true }));
  }

  switch() {
    return this.start(this.facing === 'environment' ? 'user' : 'environment');
  }

  stop() {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}

export function cameraMessage(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera permission was denied. Allow the camera in the browser’s site settings, or use a file instead.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found on this device. You can still pick, drop or paste an image.';
    case 'NotReadableError':
      return 'The camera is in use by another app or could not be started.';
    default:
      return `The camera could not be started: ${err?.message ?? err}`;
  }
}
