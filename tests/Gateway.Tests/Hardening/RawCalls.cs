using Grpc.Core;
using Grpc.Net.Client;

namespace StarKv.Gateway.Tests.Hardening;

/// <summary>Calls a gateway method with request bytes as they are, over the same HTTP/2 channel a client uses.</summary>
public static class RawCalls
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    public static async Task<RpcException> FailsAsync(GrpcChannel channel, string method, byte[] request, Metadata headers)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var descriptor = new Method<byte[], byte[]>(MethodType.Unary, "starkv.v1.AgentGateway", method, Bytes, Bytes);
        return await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker()
            .AsyncUnaryCall(descriptor, null, new CallOptions(headers, deadline: DateTime.UtcNow.AddSeconds(30)), request).ResponseAsync);
    }
}
