namespace ModelVis.Vision;

/// <summary>
/// A problem with a vision model or image that a person can act on: an operator the interpreter lacks
/// (named, with its node), a sidecar that does not fit the state dict, an image format the host cannot read.
/// </summary>
public sealed class VisionException(string message, Exception? inner = null) : Exception(message, inner);
