using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Tests.Storage;

/// <summary>A grain whose only job is to keep state through <c>IPersistentState&lt;T&gt;</c> on the "checkpoints" provider.</summary>
public interface IStorageProbeGrain : IGrainWithStringKey
{
    Task<StorageProbeView> Record(long step, CheckpointReference checkpoint);

    Task<StorageProbeView> Get();
}

[GenerateSerializer, Alias("StarKv.Grains.Tests.Storage.StorageProbeView")]
public sealed record StorageProbeView(
    [property: Id(0)] Guid Activation,
    [property: Id(1)] IReadOnlyList<long> Steps,
    [property: Id(2)] CheckpointReference? Checkpoint,
    [property: Id(3)] bool RecordExists);

[GenerateSerializer, Alias("StarKv.Grains.Tests.Storage.StorageProbeState")]
public sealed class StorageProbeState
{
    [Id(0)]
    public List<long> Steps { get; set; } = [];

    [Id(1)]
    public CheckpointReference? Checkpoint { get; set; }
}

public sealed class StorageProbeGrain(
    [PersistentState("probe", "checkpoints")] IPersistentState<StorageProbeState> state) : Grain, IStorageProbeGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public async Task<StorageProbeView> Record(long step, CheckpointReference checkpoint)
    {
        state.State.Steps.Add(step);
        state.State.Checkpoint = checkpoint;
        await state.WriteStateAsync();
        return await Get();
    }

    public Task<StorageProbeView> Get() =>
        Task.FromResult(new StorageProbeView(_activation, [.. state.State.Steps], state.State.Checkpoint, state.RecordExists));
}
