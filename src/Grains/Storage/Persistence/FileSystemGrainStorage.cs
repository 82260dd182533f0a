using System.Diagnostics;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace StarKv.Grains.Storage.Persistence;

/// <summary>
/// Orleans grain storage on a local folder, for the embedded one-process mode, with the same semantics as
/// <see cref="AzureBlobGrainStorage"/>: one file per grain and state name
/// (<c>{RootPath}/state/{stateName}/{grainType}/{grainKey}.state</c>) in <see cref="StoredGrainStateFormat"/>.
/// The ETag is the stamp in the file's header, a fresh GUID per write, so a record deleted and written again
/// never matches an old ETag. A write or clear holds an exclusive lock on <c>{file}.lock</c> while it compares
/// ETags and replaces the file (written to a temporary file, flushed, then renamed over it), so concurrent
/// writers in this or another process see a conflict, never a torn file.
/// </summary>
public sealed class FileSystemGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private const string Extension = ".state";

    private readonly string _name;
    private readonly FileSystemGrainStorageOptions _options;
    private readonly GrainStateCodec _codec;
    private readonly string _root;

    public FileSystemGrainStorage(string name, FileSystemGrainStorageOptions options, IActivatorProvider activators)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.GrainStorageSerializer, "options.GrainStorageSerializer");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.RootPath, "options.RootPath");
        _name = name;
        _options = options;
        _codec = new GrainStateCodec(options.GrainStorageSerializer, activators);
        _root = Path.GetFullPath(options.RootPath);
    }

    public string RootPath => _root;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(OptionFormattingUtilities.Name<FileSystemGrainStorage>(_name), _options.InitStage, InitializeAsync);
    }

    /// <summary>Creates the root folder when it does not exist.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    /// <summary>The file that holds a grain's state.</summary>
    public string PathOf(string stateName, GrainId grainId) =>
        Path.Combine(_root, GrainStateCodec.RecordName(stateName, grainId).Replace('/', Path.DirectorySeparatorChar) + Extension);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            GrainStateCodec.SetMissing(grainState, _codec.CreateDefault<T>());
            return;
        }

        var (stamp, state) = _codec.Decode<T>(bytes, Describe(path));
        grainState.State = state;
        grainState.ETag = FormatEtag(stamp);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        var stamp = Guid.NewGuid();
        var bytes = _codec.Encode(grainState.State, stamp);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (await AcquireLockAsync(path).ConfigureAwait(false))
        {
            var stored = StoredEtag(path);
            if (!string.Equals(stored, grainState.ETag, StringComparison.Ordinal))
            {
                throw GrainStateCodec.Conflict("write", Describe(path), stored, grainState.ETag);
            }

            var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
            try
            {
                await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
                {
                    await stream.WriteAsync(bytes).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                File.Delete(temporary);
            }
        }

        grainState.ETag = FormatEtag(stamp);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        if (Directory.Exists(Path.GetDirectoryName(path)))
        {
            using (await AcquireLockAsync(path).ConfigureAwait(false))
            {
                var stored = StoredEtag(path);
                if (stored is not null && !string.Equals(stored, grainState.ETag, StringComparison.Ordinal))
                {
                    throw GrainStateCodec.Conflict("clear", Describe(path), stored, grainState.ETag);
                }

                File.Delete(path);
            }
        }

        GrainStateCodec.SetMissing(grainState, _codec.CreateDefault<T>());
    }

    private static string FormatEtag(Guid stamp) => stamp.ToString("N");

    /// <summary>The ETag of the file now on disk, or null when there is none.</summary>
    private static string? StoredEtag(string path)
    {
        Span<byte> header = stackalloc byte[StoredGrainStateFormat.HeaderLength];
        int read;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        return FormatEtag(StoredGrainStateFormat.ReadStamp(header[..read], Describe(path)));
    }

    /// <summary>
    /// An exclusive lock on <c>{path}.lock</c> (FileShare.None, which .NET enforces with an advisory lock on
    /// Unix), retried until <see cref="FileSystemGrainStorageOptions.LockTimeout"/>. The lock file stays.
    /// </summary>
    private async Task<FileStream> AcquireLockAsync(string path)
    {
        var lockPath = path + ".lock";
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < _options.LockTimeout)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(5)).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new TimeoutException($"Could not lock the grain state file '{path}' within {_options.LockTimeout}: another writer holds '{lockPath}'.", e);
            }
        }
    }

    private static string Describe(string path) => $"file '{path}'";
}
