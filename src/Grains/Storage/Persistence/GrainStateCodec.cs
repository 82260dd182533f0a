using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace StarKv.Grains.Storage.Persistence;

/// <summary>
/// What the blob and file grain storages share: record names, the stored format around the configured
/// <see cref="IGrainStorageSerializer"/>, the default state of a missing record, and the conflict error.
/// </summary>
internal sealed class GrainStateCodec(IGrainStorageSerializer serializer, IActivatorProvider activators)
{
    /// <summary>
    /// The record's name relative to the store's root: <c>state/{stateName}/{grainType}/{grainKey}</c>, each
    /// segment escaped by <see cref="StorageNames.EscapeSegment"/>.
    /// </summary>
    public static string RecordName(string stateName, GrainId grainId) =>
        string.Join('/', "state",
            StorageNames.EscapeSegment(stateName),
            StorageNames.EscapeSegment(grainId.Type.ToString() ?? string.Empty),
            StorageNames.EscapeSegment(grainId.Key.ToString() ?? string.Empty));

    public byte[] Encode<T>(T state, Guid stamp) =>
        StoredGrainStateFormat.Encode(serializer.Serialize(state).ToMemory().Span, stamp);

    public (Guid Stamp, T State) Decode<T>(ReadOnlyMemory<byte> bytes, string location)
    {
        var (stamp, payload) = StoredGrainStateFormat.Decode(bytes, location);
        T? state;
        try
        {
            state = serializer.Deserialize<T>(new BinaryData(payload));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new CorruptGrainStateException(location, $"its payload does not deserialize as {typeof(T).FullName} ({e.Message})", e);
        }

        return (stamp, state ?? CreateDefault<T>());
    }

    public T CreateDefault<T>() => activators.GetActivator<T>().Create();

    public static void SetMissing<T>(IGrainState<T> grainState, T defaultState)
    {
        grainState.State = defaultState;
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>
    /// The error of a write or clear that found another writer's record. It holds no inner exception: it travels to the
    /// grain's callers, the gateway among them, which carries no storage SDK, and Orleans fails a whole response holding
    /// an exception (inner ones included) of a type the receiver cannot load, with a TypeLoadException in place of the
    /// conflict. The record and both ETags say all the store's own error would.
    /// </summary>
    public static InconsistentStateException Conflict(string operation, string location, string? storedEtag, string? expectedEtag)
    {
        var stored = storedEtag ?? "none (no record)";
        var expected = expectedEtag ?? "none (expected no record)";
        var message = $"Cannot {operation} the grain state at {location}: it was changed by another writer. Stored ETag: {stored}; expected ETag: {expected}.";
        return new InconsistentStateException(message, storedEtag, expectedEtag);
    }
}
