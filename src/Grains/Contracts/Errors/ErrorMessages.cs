namespace StarKv.Grains.Errors;

/// <summary>Exception messages as clients should read them: what is wrong, without .NET's decorations.</summary>
public static class ErrorMessages
{
    /// <summary>
    /// The message of <paramref name="error"/> without the <c>" (Parameter 'name')"</c> that .NET appends to an
    /// <see cref="ArgumentException"/> given a parameter name; a parameter name is code, not something a client sent.
    /// </summary>
    public static string Plain(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var message = error.Message;
        if (error is ArgumentException { ParamName: { Length: > 0 } name })
        {
            var suffix = $" (Parameter '{name}')";
            var at = message.IndexOf(suffix, StringComparison.Ordinal);
            if (at >= 0)
            {
                message = message.Remove(at, suffix.Length);
            }
        }

        return message;
    }
}
