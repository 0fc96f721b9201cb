namespace ModelVis.Training;

/// <summary>A training problem a person can act on (bad options, empty corpus, unreadable cache).</summary>
public sealed class TrainingException(string message, Exception? inner = null) : Exception(message, inner);
