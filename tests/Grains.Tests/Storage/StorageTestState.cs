using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace StarKv.Grains.Tests.Storage;

[GenerateSerializer, Alias("StarKv.Grains.Tests.Storage.StorageTestState")]
public sealed class StorageTestState
{
    [Id(0)]
    public string Text { get; set; } = string.Empty;

    [Id(1)]
    public int Count { get; set; }

    [Id(2)]
    public List<long> Steps { get; set; } = [];
}

/// <summary>A service provider with Orleans' serializer and a grain storage serializer, as a silo has them.</summary>
internal static class StorageTestServices
{
    public static ServiceCollection Create()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSerializer();
        services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        return services;
    }
}
