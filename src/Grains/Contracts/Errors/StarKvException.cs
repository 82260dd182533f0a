namespace StarKv.Grains.Errors;

/// <summary>What went wrong in a domain call; the gateway maps each kind to one gRPC status code.</summary>
public enum StarKvErrorKind
{
    InvalidArgument = 0,
    NotFound = 1,
    AlreadyExists = 2,
    ResourceExhausted = 3,
    FailedPrecondition = 4,
    Unavailable = 5,
    PermissionDenied = 6,
}

/// <summary>A domain error that crosses grain calls with its kind and a message that names what is wrong.</summary>
[GenerateSerializer]
public sealed class StarKvException : Exception
{
    public StarKvException()
    {
    }

    public StarKvException(string message)
        : base(message)
    {
    }

    public StarKvException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StarKvException(StarKvErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    [Id(0)]
    public StarKvErrorKind Kind { get; init; }

    public static StarKvException InvalidArgument(string message) => new(StarKvErrorKind.InvalidArgument, message);

    public static StarKvException NotFound(string message) => new(StarKvErrorKind.NotFound, message);

    public static StarKvException ResourceExhausted(string message) => new(StarKvErrorKind.ResourceExhausted, message);

    public static StarKvException FailedPrecondition(string message, Exception? inner = null) => new(StarKvErrorKind.FailedPrecondition, message, inner);

    public static StarKvException AlreadyExists(string message) => new(StarKvErrorKind.AlreadyExists, message);

    public static StarKvException Unavailable(string message, Exception? inner = null) => new(StarKvErrorKind.Unavailable, message, inner);

    public static StarKvException PermissionDenied(string message) => new(StarKvErrorKind.PermissionDenied, message);
}
