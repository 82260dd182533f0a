namespace StarKv.GpuWorker.Checkpoints;

/// <summary>
/// One tensor's entry in a safetensors header: its dtype code, shape, and byte range
/// [<see cref="Begin"/>, <see cref="End"/>) relative to the start of the data section (after the header).
/// </summary>
public sealed record SafetensorsTensorInfo(string Name, string DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
