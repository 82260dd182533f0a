using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace StarKv.Grains.Storage.Persistence;

/// <summary>
/// Orleans grain storage over Azure Blob Storage: one blob per grain and state name
/// (<c>state/{stateName}/{grainType}/{grainKey}</c>, see <see cref="GrainStateCodec.RecordName"/>), holding
/// the state in <see cref="StoredGrainStateFormat"/>. The blob's ETag is the state's ETag: a write sends
/// <c>If-Match</c> with it, or <c>If-None-Match: *</c> when no record was read, so a second writer fails with
/// <see cref="InconsistentStateException"/> instead of overwriting. Clearing deletes the blob under the same
/// condition.
/// </summary>
public sealed partial class AzureBlobGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private readonly string _name;
    private readonly AzureBlobGrainStorageOptions _options;
    private readonly GrainStateCodec _codec;
    private readonly BlobContainerClient _container;
    private readonly ILogger<AzureBlobGrainStorage> _logger;

    public AzureBlobGrainStorage(
        string name,
        AzureBlobGrainStorageOptions options,
        IActivatorProvider activators,
        ILogger<AzureBlobGrainStorage> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.GrainStorageSerializer, "options.GrainStorageSerializer");
        _name = name;
        _options = options;
        _logger = logger;
        _codec = new GrainStateCodec(options.GrainStorageSerializer, activators);
        _container = new BlobContainerClient(options.ConnectionString, options.Container);
    }

    /// <summary>The container's name, for errors and logs.</summary>
    public string ContainerName => _container.Name;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(OptionFormattingUtilities.Name<AzureBlobGrainStorage>(_name), _options.InitStage, InitializeAsync);
    }

    /// <summary>Creates the container when it does not exist.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        LogInitialized(_name, _container.Name);
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var blob = _container.GetBlobClient(GrainStateCodec.RecordName(stateName, grainId));
        BlobDownloadResult download;
        try
        {
            download = (await blob.DownloadContentAsync().ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            GrainStateCodec.SetMissing(grainState, _codec.CreateDefault<T>());
            return;
        }

        var (_, state) = _codec.Decode<T>(download.Content.ToMemory(), Describe(blob));
        grainState.State = state;
        grainState.ETag = download.Details.ETag.ToString();
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var blob = _container.GetBlobClient(GrainStateCodec.RecordName(stateName, grainId));
        var content = BinaryData.FromBytes(_codec.Encode(grainState.State, Guid.NewGuid()));
        var upload = new BlobUploadOptions
        {
            Conditions = Expecting(grainState.ETag),
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        };
        try
        {
            Response<BlobContentInfo> response;
            try
            {
                response = await blob.UploadAsync(content, upload).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                await _container.CreateIfNotExistsAsync().ConfigureAwait(false);
                response = await blob.UploadAsync(content, upload).ConfigureAwait(false);
            }

            grainState.ETag = response.Value.ETag.ToString();
            grainState.RecordExists = true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            throw GrainStateCodec.Conflict("write", Describe(blob), await StoredEtagAsync(blob).ConfigureAwait(false), grainState.ETag);
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var blob = _container.GetBlobClient(GrainStateCodec.RecordName(stateName, grainId));
        try
        {
            await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, Expecting(grainState.ETag)).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            throw GrainStateCodec.Conflict("clear", Describe(blob), await StoredEtagAsync(blob).ConfigureAwait(false), grainState.ETag);
        }

        GrainStateCodec.SetMissing(grainState, _codec.CreateDefault<T>());
    }

    private static BlobRequestConditions Expecting(string? etag) =>
        etag is null
            ? new BlobRequestConditions { IfNoneMatch = ETag.All }
            : new BlobRequestConditions { IfMatch = new ETag(etag) };

    private static async Task<string?> StoredEtagAsync(BlobClient blob)
    {
        try
        {
            return (await blob.GetPropertiesAsync().ConfigureAwait(false)).Value.ETag.ToString();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private static string Describe(BlobClient blob) => $"blob '{blob.Name}' in container '{blob.BlobContainerName}'";

    [LoggerMessage(Level = LogLevel.Information, Message = "Grain storage {Name}: blob container {Container} is ready")]
    private partial void LogInitialized(string name, string container);
}
