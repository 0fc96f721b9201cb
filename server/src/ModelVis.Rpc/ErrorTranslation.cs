namespace ModelVis.Rpc;

/// <summary>
/// Which exceptions are the user's input being wrong (reported as they are) rather than a host bug.
/// Rule: every exception type the project itself defines (namespace <c>ModelVis.*</c>: CheckpointException,
/// TokenizerException, ModelException, …) is thrown on purpose with a message meant for a person.
/// </summary>
public static class ErrorTranslation
{
    public static bool TryUserError(Exception e, out string message)
    {
        message = e.Message;
        if (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or InvalidDataException) return true;
        return e.GetType().Namespace?.StartsWith("ModelVis", StringComparison.Ordinal) == true;
    }
}

/// <summary>An error in what the user asked for, with a message that says how to fix it.</summary>
public class UserInputException(string message) : Exception(message);
