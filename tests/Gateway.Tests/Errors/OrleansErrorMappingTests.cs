using Grpc.Core;
using Orleans.Storage;
using StarKv.Gateway.Errors;

namespace StarKv.Gateway.Tests.Errors;

/// <summary>A call that reached a silo which died (before the cluster declared it dead) is retryable for clients.</summary>
public sealed class OrleansErrorMappingTests
{
    [Fact]
    public void An_unavailable_silo_maps_to_UNAVAILABLE_naming_the_cause()
    {
        var status = DomainErrorInterceptor.StatusOf(new SiloUnavailableException("silo 127.0.0.1:11111 is dead"));

        Assert.Equal(StatusCode.Unavailable, status.StatusCode);
        Assert.Contains("silo 127.0.0.1:11111 is dead", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unavailable_silo_wrapped_in_an_aggregate_maps_to_UNAVAILABLE()
    {
        var status = DomainErrorInterceptor.StatusOf(new AggregateException(new SiloUnavailableException("target silo gone")));

        Assert.Equal(StatusCode.Unavailable, status.StatusCode);
    }

    [Fact]
    public void A_refused_state_write_maps_to_UNAVAILABLE_without_storage_details()
    {
        var conflict = new InconsistentStateException(
            "Cannot write the grain state at blob 'state/trajectory/t~2Fs' in container 'checkpoints': it was changed by another writer.", "\"0x2\"", "\"0x1\"");

        var status = DomainErrorInterceptor.StatusOf(conflict);

        Assert.Equal(StatusCode.Unavailable, status.StatusCode);
        Assert.Contains("retry the same step index", status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("blob", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_Orleans_errors_stay_INTERNAL()
    {
        Assert.Equal(StatusCode.Internal, DomainErrorInterceptor.StatusOf(new OrleansException("something else")).StatusCode);
    }
}
