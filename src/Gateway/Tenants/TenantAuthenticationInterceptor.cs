using Grpc.Core;
using Grpc.Core.Interceptors;
using StarKv.Gateway.Configuration;

namespace StarKv.Gateway.Tenants;

/// <summary>Resolves the calling tenant from <c>authorization: Bearer &lt;key&gt;</c>, or ends the call UNAUTHENTICATED.</summary>
public sealed class TenantAuthenticationInterceptor(TenantDirectory directory) : Interceptor
{
    private const string TenantKey = "starkv.tenant";

    /// <summary>The tenant this interceptor resolved for the call.</summary>
    public static TenantOptions TenantOf(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(TenantKey, out var tenant) && tenant is TenantOptions found
            ? found
            : throw new RpcException(new Status(StatusCode.Unauthenticated, "The call has no authenticated tenant."));
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Authenticate(context);
        return continuation(request, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Authenticate(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        const string scheme = "Bearer ";
        if (string.IsNullOrEmpty(header) || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length == scheme.Length)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Missing 'authorization: Bearer <api key>' header."));
        }

        var tenant = directory.Find(header[scheme.Length..].Trim())
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "Unknown API key."));
        context.UserState[TenantKey] = tenant;
    }
}
