using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Orleans.Serialization;
using Orleans.Storage;

namespace StarKv.Grains.Persistence;

/// <summary>
/// Grain state as files <c>{root}/{stateName}/{grain id}.state</c> in Orleans' binary serialization, for the embedded
/// mode and tests. The ETag is a version number stored in the file's first line; a write whose ETag is stale fails with
/// <see cref="InconsistentStateException"/>, as the blob storage does.
/// </summary>
public sealed class FileGrainStorage(string root, Serializer serializer) : IGrainStorage
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public string Root { get; } = Path.GetFullPath(root);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        var gate = _locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!File.Exists(path))
            {
                grainState.State = Activator.CreateInstance<T>();
                grainState.ETag = null;
                grainState.RecordExists = false;
                return;
            }

            var (etag, payload) = Split(await File.ReadAllBytesAsync(path).ConfigureAwait(false), path);
            grainState.State = serializer.Deserialize<T>(payload);
            grainState.ETag = etag;
            grainState.RecordExists = true;
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        var gate = _locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var stored = File.Exists(path) ? Split(await File.ReadAllBytesAsync(path).ConfigureAwait(false), path).ETag : null;
            if (stored != grainState.ETag)
            {
                throw new InconsistentStateException($"State '{stateName}' of {grainId} was written by another activation (stored ETag {stored ?? "none"}, this one {grainState.ETag ?? "none"}).", stored, grainState.ETag);
            }

            var next = ((stored is null ? 0 : long.Parse(stored, CultureInfo.InvariantCulture)) + 1).ToString(CultureInfo.InvariantCulture);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            await using (var file = File.Create(temporary))
            {
                await file.WriteAsync(Encoding.ASCII.GetBytes(next + "\n")).ConfigureAwait(false);
                await file.WriteAsync(serializer.SerializeToArray(grainState.State)).ConfigureAwait(false);
            }

            File.Move(temporary, path, overwrite: true);
            grainState.ETag = next;
            grainState.RecordExists = true;
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var path = PathOf(stateName, grainId);
        var gate = _locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            File.Delete(path);
            grainState.ETag = null;
            grainState.RecordExists = false;
            grainState.State = Activator.CreateInstance<T>();
        }
        finally
        {
            gate.Release();
        }
    }

    private string PathOf(string stateName, GrainId grainId)
    {
        var name = new StringBuilder();
        foreach (var c in grainId.ToString())
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '+');
        }

        return Path.Combine(Root, stateName, name + "." + Convert.ToHexString(BitConverter.GetBytes(grainId.GetUniformHashCode())) + ".state");
    }

    private static (string ETag, byte[] Payload) Split(byte[] content, string path)
    {
        var newline = Array.IndexOf(content, (byte)'\n');
        if (newline <= 0)
        {
            throw new InvalidDataException($"Grain state file {path} has no version line.");
        }

        return (Encoding.ASCII.GetString(content, 0, newline), content[(newline + 1)..]);
    }
}
