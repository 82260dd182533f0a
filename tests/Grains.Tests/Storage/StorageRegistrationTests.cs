using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using StarKv.Grains.Storage.Checkpoints;
using StarKv.Grains.Storage.Persistence;

namespace StarKv.Grains.Tests.Storage;

public sealed class StorageRegistrationTests
{
    [Fact]
    public void Named_grain_storages_resolve_by_name_with_the_configured_serializer()
    {
        var services = StorageTestServices.Create();
        services.AddAzureBlobGrainStorage("blobs", o => o.ConnectionString = "UseDevelopmentStorage=true");
        services.AddFileSystemGrainStorage("files", o => o.RootPath = "/tmp/starkv-unused");
        using var provider = services.BuildServiceProvider();

        Assert.IsType<AzureBlobGrainStorage>(provider.GetRequiredKeyedService<IGrainStorage>("blobs"));
        var files = Assert.IsType<FileSystemGrainStorage>(provider.GetRequiredKeyedService<IGrainStorage>("files"));
        Assert.Equal("/tmp/starkv-unused", files.RootPath);
        Assert.Same(provider.GetRequiredService<IGrainStorageSerializer>(),
            provider.GetRequiredService<IOptionsMonitor<FileSystemGrainStorageOptions>>().Get("files").GrainStorageSerializer);
        Assert.Equal(2, provider.GetServices<ILifecycleParticipant<ISiloLifecycle>>().Count());
    }

    [Fact]
    public void A_blob_storage_without_a_connection_string_fails_naming_the_option()
    {
        var services = StorageTestServices.Create();
        services.AddAzureBlobGrainStorage("blobs", _ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredKeyedService<IGrainStorage>("blobs"));

        Assert.Contains("AzureBlobGrainStorageOptions 'blobs': ConnectionString is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_blob_storage_with_an_invalid_container_fails_naming_it()
    {
        var services = StorageTestServices.Create();
        services.AddAzureBlobGrainStorage("blobs", o =>
        {
            o.ConnectionString = "UseDevelopmentStorage=true";
            o.Container = "Grain_State";
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredKeyedService<IGrainStorage>("blobs"));

        Assert.Contains("'Grain_State'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_storage_without_a_root_fails_naming_the_option()
    {
        var services = StorageTestServices.Create();
        services.AddFileSystemGrainStorage("files", _ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredKeyedService<IGrainStorage>("files"));

        Assert.Contains("RootPath is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_last_checkpoint_store_registered_is_the_one_resolved()
    {
        var services = new ServiceCollection();
        services.AddAzureBlobKvCheckpointStore(o => o.ConnectionString = "UseDevelopmentStorage=true");
        services.AddFileSystemKvCheckpointStore(o => o.RootPath = "/tmp/starkv-unused");
        using var provider = services.BuildServiceProvider();

        Assert.IsType<FileSystemKvCheckpointStore>(provider.GetRequiredService<IKvCheckpointStore>());
        Assert.Single(provider.GetServices<IKvCheckpointStore>());
    }

    [Fact]
    public void Each_checkpoint_store_registration_resolves_its_store()
    {
        using var blob = new ServiceCollection().AddAzureBlobKvCheckpointStore(o => o.ConnectionString = "UseDevelopmentStorage=true").BuildServiceProvider();
        using var memory = new ServiceCollection().AddInMemoryKvCheckpointStore().BuildServiceProvider();

        var store = Assert.IsType<AzureBlobKvCheckpointStore>(blob.GetRequiredService<IKvCheckpointStore>());
        Assert.Equal("starkv-checkpoints", store.ContainerName);
        Assert.IsType<InMemoryKvCheckpointStore>(memory.GetRequiredService<IKvCheckpointStore>());
    }

    [Fact]
    public void A_checkpoint_store_with_bad_options_fails_naming_the_problem()
    {
        using var blob = new ServiceCollection().AddAzureBlobKvCheckpointStore(o => o.ConnectionString = "UseDevelopmentStorage=true").AddAzureBlobKvCheckpointStore(o => o.Container = "x").BuildServiceProvider();
        using var files = new ServiceCollection().AddFileSystemKvCheckpointStore(_ => { }).BuildServiceProvider();

        var blobError = Assert.Throws<OptionsValidationException>(() => blob.GetRequiredService<IKvCheckpointStore>());
        var fileError = Assert.Throws<OptionsValidationException>(() => files.GetRequiredService<IKvCheckpointStore>());

        Assert.Contains("The container name 'x' must have 3 to 63 characters", blobError.Message, StringComparison.Ordinal);
        Assert.Contains("RootPath is empty", fileError.Message, StringComparison.Ordinal);
    }
}
