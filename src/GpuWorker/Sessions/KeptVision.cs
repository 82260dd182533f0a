namespace StarKv.GpuWorker.Sessions;

/// <summary>A screenshot cell (row and column of its merged token grid) that one cache layer keeps, and by how many KV heads.</summary>
public readonly record struct KeptVisionCell(int ScreenshotIndex, int Row, int Col, int Heads);

/// <summary>
/// Which screenshot cells a session's cache keeps, per layer (<see cref="Layers"/>[layer] lists each kept cell once,
/// with the number of its <see cref="KvHeads"/> heads that keep it). Screenshot indices are step indices.
/// </summary>
public sealed record KeptVision(int KvHeads, IReadOnlyList<IReadOnlyList<KeptVisionCell>> Layers);
