using Grpc.Core;
using Grpc.Core.Interceptors;
using Orleans.Storage;
using StarKv.Grains.Errors;

namespace StarKv.Gateway.Errors;

/// <summary>The one place where domain errors become gRPC status codes; anything unexpected is INTERNAL and logged.</summary>
public sealed partial class DomainErrorInterceptor(ILogger<DomainErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not RpcException)
        {
            throw Map(error, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not RpcException)
        {
            throw Map(error, context);
        }
    }

    /// <summary>The status a domain error maps to (searching wrapped exceptions too).</summary>
    public static Status StatusOf(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case StarKvException domain:
                    return new Status(Code(domain.Kind), domain.Message);
                case ArgumentException argument:
                    return new Status(StatusCode.InvalidArgument, ErrorMessages.Plain(argument));
                case OperationCanceledException:
                    return new Status(StatusCode.Cancelled, "The call was cancelled.");
                case OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException:
                    // The silo that held the grain is gone or unreachable (a crash before the cluster declared it dead);
                    // the grain comes back elsewhere from its checkpoint, so the client retries the same step.
                    return new Status(StatusCode.Unavailable, $"The silo serving this session is unavailable; retry: {e.Message}");
                case InconsistentStateException:
                    // Two activations of the session for a moment (after a silo was presumed dead, or during a move), and
                    // this one's state write was refused: the step is not taken, Orleans deactivates the stale activation,
                    // and the client's retry of the same step index reaches the session's live one. The conflict's own
                    // message names storage internals (container, blob, ETags); the silo logs it.
                    return new Status(StatusCode.Unavailable, "Another activation of this session changed its state (after a silo failure or a move); retry the same step index.");
                case TimeoutException timeout:
                    return new Status(StatusCode.DeadlineExceeded, timeout.Message);
                case AggregateException { InnerExceptions.Count: 1 } aggregate:
                    return StatusOf(aggregate.InnerExceptions[0]);
                default:
                    break;
            }
        }

        return new Status(StatusCode.Internal, $"Internal error ({error.GetType().Name}).");
    }

    private RpcException Map(Exception error, ServerCallContext context)
    {
        var status = context.CancellationToken.IsCancellationRequested && error is IOException or OperationCanceledException
            ? new Status(StatusCode.Cancelled, "The client went away.")
            : StatusOf(error);
        if (status.StatusCode == StatusCode.Internal)
        {
            LogUnexpected(logger, error, context.Method);
        }

        return new RpcException(status);
    }

    private static StatusCode Code(StarKvErrorKind kind) => kind switch
    {
        StarKvErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        StarKvErrorKind.NotFound => StatusCode.NotFound,
        StarKvErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        StarKvErrorKind.ResourceExhausted => StatusCode.ResourceExhausted,
        StarKvErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        StarKvErrorKind.Unavailable => StatusCode.Unavailable,
        StarKvErrorKind.PermissionDenied => StatusCode.PermissionDenied,
        _ => StatusCode.Unknown,
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error in {Method}")]
    private static partial void LogUnexpected(ILogger logger, Exception error, string method);
}
