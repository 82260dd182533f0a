using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using StarKv.Protos.V1;

namespace StarKv.Gateway.Services;

/// <summary>
/// Binds <see cref="AgentGatewayService"/> to the contract's methods (<c>starkv.v1.AgentGateway</c>) with request
/// marshallers that refuse bytes which are no valid message (truncated, wrong wire types, strings that are not UTF-8) as
/// INVALID_ARGUMENT naming the message. The generated marshallers throw an exception grpc-dotnet answers as UNKNOWN,
/// before any interceptor runs, so the service is not derived from the generated base and is bound here instead.
/// </summary>
public sealed class AgentGatewayMethods : IServiceMethodProvider<AgentGatewayService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<AgentGatewayService> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        AgentGateway.BindService(new Binder(context), serviceImpl: null!);
    }

    /// <summary><paramref name="marshaller"/>, refusing undecodable bytes as INVALID_ARGUMENT.</summary>
    public static Marshaller<TRequest> Guarded<TRequest>(Marshaller<TRequest> marshaller, string messageName)
    {
        ArgumentNullException.ThrowIfNull(marshaller);
        return new Marshaller<TRequest>(marshaller.ContextualSerializer, context =>
        {
            try
            {
                return marshaller.ContextualDeserializer(context);
            }
            catch (InvalidProtocolBufferException error)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"The request is not a valid {messageName}: {error.Message}"));
            }
        });
    }

    private sealed class Binder(ServiceMethodProviderContext<AgentGatewayService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            context.AddUnaryMethod(Guard(method), [], Handler<UnaryServerMethod<AgentGatewayService, TRequest, TResponse>>(method));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            context.AddDuplexStreamingMethod(Guard(method), [], Handler<DuplexStreamingServerMethod<AgentGatewayService, TRequest, TResponse>>(method));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            throw new NotSupportedException($"{method?.FullName} is server streaming; the gateway has no such method.");

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            throw new NotSupportedException($"{method?.FullName} is client streaming; the gateway has no such method.");

        private static Method<TRequest, TResponse> Guard<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class
            where TResponse : class =>
            new(method.Type, method.ServiceName, method.Name, Guarded(method.RequestMarshaller, typeof(TRequest).Name), method.ResponseMarshaller);

        /// <summary>The service's method of the contract method's name, as an open-instance delegate.</summary>
        private static TDelegate Handler<TDelegate>(IMethod method)
            where TDelegate : Delegate
        {
            var target = typeof(AgentGatewayService).GetMethod(method.Name)
                ?? throw new InvalidOperationException($"AgentGatewayService has no method {method.Name} for {method.FullName}.");
            return target.CreateDelegate<TDelegate>();
        }
    }
}
