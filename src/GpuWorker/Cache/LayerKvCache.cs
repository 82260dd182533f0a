using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.GpuWorker.Cache;

/// <summary>
/// One decoder layer's KV cache. Keys (after rotary embedding) and values are stored for the G KV heads only,
/// never expanded to the query heads: <c>Keys</c>, <c>Values</c> are <c>[G, N, D]</c>.
/// <para>
/// Layout under per-head selection: every head holds the same number N of entries (a <see cref="Gather"/>
/// takes a <c>[G, K]</c> selection), but entry j of head g may be a different token than entry j of head g'.
/// <see cref="Tokens"/> therefore describes each head separately: <c>Tokens[g][j]</c> is entry j of head g.
/// Attention stays exact for every head because the rotary position is baked into each stored key, so a
/// query sees each kept entry at its original position whatever its slot. Entries are kept in the order they
/// were appended within each head, so the newest turn is always the cache's tail, identical for every head.
/// Ragged per-head counts are not supported: a selection with different counts per head cannot be expressed.
/// </para>
/// <para>
/// <see cref="SeenTokens"/> counts every token ever appended; <see cref="Count"/> counts the entries stored now.
/// </para>
/// <para>The cache owns its tensors: they are detached from any dispose scope, and freed by <see cref="Dispose"/>.</para>
/// </summary>
public sealed class LayerKvCache : IDisposable
{
    private torch.Tensor _keys;
    private torch.Tensor _values;
    private List<TokenInfo>[] _tokens;

    public LayerKvCache(int kvHeads, int headDim, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentNullException.ThrowIfNull(device);
        KvHeads = kvHeads;
        HeadDim = headDim;
        Device = device;
        DType = dtype;
        _keys = torch.empty([kvHeads, 0, headDim], dtype: dtype, device: device).DetachFromDisposeScope(); // [G, 0, D]
        _values = torch.empty([kvHeads, 0, headDim], dtype: dtype, device: device).DetachFromDisposeScope(); // [G, 0, D]
        _tokens = NewTokenLists(kvHeads);
    }

    public int KvHeads { get; }

    public int HeadDim { get; }

    public torch.Device Device { get; }

    public torch.ScalarType DType { get; }

    /// <summary>Stored keys after rotary embedding, owned by the cache (do not dispose). // [G, N, D]</summary>
    public torch.Tensor Keys => _keys;

    /// <summary>Stored values, owned by the cache (do not dispose). // [G, N, D]</summary>
    public torch.Tensor Values => _values;

    /// <summary>Bookkeeping of every stored entry per KV head, in storage order. // [G][N]</summary>
    public IReadOnlyList<IReadOnlyList<TokenInfo>> Tokens => _tokens;

    /// <summary>Entries stored now per head (N).</summary>
    public long Count => _keys.shape[1];

    /// <summary>Every token ever appended to this layer, kept or evicted.</summary>
    public long SeenTokens { get; private set; }

    /// <summary>Bytes held by the stored keys and values.</summary>
    public long Bytes => (_keys.NumberOfElements * _keys.ElementSize) + (_values.NumberOfElements * _values.ElementSize);

    /// <summary>
    /// Appends a turn's entries to the tail of every head. The tensors are copied (converted to the cache's
    /// dtype and device); the caller keeps ownership of its arguments.
    /// </summary>
    /// <param name="keys">Keys after rotary embedding. // [G, T, D]</param>
    /// <param name="values">Values. // [G, T, D]</param>
    /// <param name="tokens">The T entries' bookkeeping, the same for every head.</param>
    public void Append(torch.Tensor keys, torch.Tensor values, IReadOnlyList<TokenInfo> tokens)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(tokens);
        CheckShape(keys, nameof(keys));
        CheckShape(values, nameof(values));
        if (keys.shape[1] != values.shape[1])
        {
            throw new ArgumentException($"keys hold {keys.shape[1]} entries but values hold {values.shape[1]}.", nameof(values));
        }

        if (tokens.Count != keys.shape[1])
        {
            throw new ArgumentException($"{tokens.Count} bookkeeping entries given for {keys.shape[1]} appended keys.", nameof(tokens));
        }

        using (var k = keys.to(DType, Device))
        {
            var next = torch.cat([_keys, k], 1).DetachFromDisposeScope(); // [G, N + T, D]
            _keys.Dispose();
            _keys = next;
        }

        using (var v = values.to(DType, Device))
        {
            var next = torch.cat([_values, v], 1).DetachFromDisposeScope(); // [G, N + T, D]
            _values.Dispose();
            _values = next;
        }

        foreach (var list in _tokens)
        {
            list.AddRange(tokens);
        }

        SeenTokens += tokens.Count;
    }

    /// <summary>
    /// Keeps, per KV head, the entries named by <paramref name="indices"/> (in the given order; compressors pass
    /// them sorted) and frees the rest: the keys and values become new, smaller tensors and the old ones are
    /// disposed. <see cref="SeenTokens"/> does not change.
    /// </summary>
    /// <param name="indices">Entry indices per head, every head the same count K. // [G, K] int64</param>
    public void Gather(torch.Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.dim() != 2 || indices.shape[0] != KvHeads)
        {
            throw new ArgumentException($"A selection must be [G={KvHeads}, K]; got [{string.Join(", ", indices.shape)}].", nameof(indices));
        }

        if (indices.dtype != torch.ScalarType.Int64)
        {
            throw new ArgumentException($"A selection must hold int64 indices; got {indices.dtype}.", nameof(indices));
        }

        var kept = indices.shape[1];
        var count = Count;
        using var hostIndices = indices.cpu(); // [G, K]
        var flat = hostIndices.data<long>().ToArray();
        for (var i = 0; i < flat.Length; i++)
        {
            if (flat[i] < 0 || flat[i] >= count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), flat[i], $"Selection index for head {i / kept} lies outside the {count} stored entries.");
            }
        }

        using (var scope = torch.NewDisposeScope())
        {
            using var onDevice = indices.to(Device); // [G, K]
            var expanded = onDevice.unsqueeze(-1).expand(KvHeads, kept, HeadDim); // [G, K, D]
            var keys = _keys.gather(1, expanded).contiguous().DetachFromDisposeScope(); // [G, K, D]
            var values = _values.gather(1, expanded).contiguous().DetachFromDisposeScope(); // [G, K, D]
            _keys.Dispose();
            _values.Dispose();
            _keys = keys;
            _values = values;
        }

        var tokens = NewTokenLists(KvHeads);
        for (var g = 0; g < KvHeads; g++)
        {
            var source = _tokens[g];
            var target = tokens[g];
            target.Capacity = (int)kept;
            for (var j = 0; j < kept; j++)
            {
                target.Add(source[(int)flat[(g * kept) + j]]);
            }
        }

        _tokens = tokens;
    }

    /// <summary>Copies this layer's state for a checkpoint; the snapshot's tensors belong to the caller.</summary>
    public LayerKvSnapshot Export(torch.Device device)
    {
        var tokens = _tokens.Select(list => (IReadOnlyList<TokenInfo>)list.ToArray()).ToArray();
        return new LayerKvSnapshot(
            _keys.to(device, copy: true).DetachFromDisposeScope(), _values.to(device, copy: true).DetachFromDisposeScope(), tokens, SeenTokens);
    }

    /// <summary>Builds a layer from a checkpoint's snapshot, copying its tensors onto the device and dtype.</summary>
    public static LayerKvCache Restore(LayerKvSnapshot snapshot, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var keys = snapshot.Keys;
        if (keys.dim() != 3)
        {
            throw new ArgumentException($"Snapshot keys must be [G, N, D]; got [{string.Join(", ", keys.shape)}].", nameof(snapshot));
        }

        var layer = new LayerKvCache((int)keys.shape[0], (int)keys.shape[2], device, dtype);
        try
        {
            if (!snapshot.Values.shape.SequenceEqual(keys.shape))
            {
                throw new ArgumentException($"Snapshot values [{string.Join(", ", snapshot.Values.shape)}] do not match keys [{string.Join(", ", keys.shape)}].", nameof(snapshot));
            }

            if (snapshot.Tokens.Count != keys.shape[0] || snapshot.Tokens.Any(t => t.Count != keys.shape[1]))
            {
                throw new ArgumentException($"Snapshot bookkeeping must list {keys.shape[1]} entries for each of {keys.shape[0]} heads.", nameof(snapshot));
            }

            if (snapshot.SeenTokens < keys.shape[1])
            {
                throw new ArgumentException($"Snapshot has seen {snapshot.SeenTokens} tokens but stores {keys.shape[1]}.", nameof(snapshot));
            }

            layer._keys.Dispose();
            layer._values.Dispose();
            layer._keys = keys.to(dtype, device, copy: true).DetachFromDisposeScope();
            layer._values = snapshot.Values.to(dtype, device, copy: true).DetachFromDisposeScope();
            for (var g = 0; g < layer.KvHeads; g++)
            {
                layer._tokens[g].AddRange(snapshot.Tokens[g]);
            }

            layer.SeenTokens = snapshot.SeenTokens;
            return layer;
        }
        catch
        {
            layer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }

    private void CheckShape(torch.Tensor t, string name)
    {
        if (t.dim() != 3 || t.shape[0] != KvHeads || t.shape[2] != HeadDim)
        {
            throw new ArgumentException($"{name} must be [G={KvHeads}, T, D={HeadDim}]; got [{string.Join(", ", t.shape)}].", name);
        }
    }

    private static List<TokenInfo>[] NewTokenLists(int heads)
    {
        var lists = new List<TokenInfo>[heads];
        for (var g = 0; g < heads; g++)
        {
            lists[g] = [];
        }

        return lists;
    }
}
