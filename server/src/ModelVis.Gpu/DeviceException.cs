namespace ModelVis.Gpu;

/// <summary>The accelerator cannot do what was asked (none present, out of memory), said so that a person can act on it.</summary>
public sealed class DeviceException(string message, Exception? inner = null) : Exception(message, inner);
