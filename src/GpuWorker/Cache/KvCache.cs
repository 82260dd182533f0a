using TorchSharp;

namespace StarKv.GpuWorker.Cache;

/// <summary>
/// A session's KV cache: one <see cref="LayerKvCache"/> per decoder layer, each storing KV heads only
/// (<c>[G, N, D]</c> keys and values) with per-head bookkeeping. Layers are compressed independently, so
/// their stored counts may differ; every layer sees the same tokens.
/// <para>
/// Layout, for callers that batch sessions: per layer, key and value storage <c>[G, Capacity, D]</c> whose first
/// <see cref="LayerKvCache.Count"/> entries of every head are valid (<see cref="LayerKvCache.KeyStorage"/>); lengths
/// differ between layers and sessions. Steps (<see cref="BeginStep"/>, <see cref="Commit"/>, <see cref="Rollback"/>)
/// and checkpoints (<see cref="CaptureFull"/>, <see cref="CaptureStep"/>, <see cref="Apply"/>) act on every layer.
/// </para>
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly LayerKvCache[] _layers;

    public KvCache(int layers, int kvHeads, int headDim, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        _layers = new LayerKvCache[layers];
        for (var i = 0; i < layers; i++)
        {
            _layers[i] = new LayerKvCache(kvHeads, headDim, device, dtype);
        }

        Device = device;
        DType = dtype;
    }

    private KvCache(LayerKvCache[] layers, torch.Device device, torch.ScalarType dtype)
    {
        _layers = layers;
        Device = device;
        DType = dtype;
    }

    public torch.Device Device { get; }

    public torch.ScalarType DType { get; }

    public IReadOnlyList<LayerKvCache> Layers => _layers;

    public int LayerCount => _layers.Length;

    public LayerKvCache this[int layer] => _layers[layer];

    /// <summary>Every token the session has prefilled or decoded into this cache (the same for every layer).</summary>
    public long SeenTokens => _layers[0].SeenTokens;

    /// <summary>Bytes of key and value storage every layer holds, capacity included.</summary>
    public long Bytes => _layers.Sum(l => l.Bytes);

    /// <summary>Bytes of the entries every layer stores now.</summary>
    public long StoredBytes => _layers.Sum(l => l.StoredBytes);

    /// <summary>Makes room in every layer for <paramref name="entries"/> more entries than it stores now (see <see cref="LayerKvCache.Reserve"/>).</summary>
    public void ReserveMore(long entries)
    {
        foreach (var layer in _layers)
        {
            layer.Reserve(layer.Count + entries);
        }
    }

    /// <summary>Whether a step is open (<see cref="BeginStep"/> without <see cref="Commit"/> or <see cref="Rollback"/>).</summary>
    public bool InStep => _layers[0].InStep;

    /// <summary>Opens a step on every layer (see <see cref="LayerKvCache.BeginStep"/>).</summary>
    public void BeginStep()
    {
        foreach (var layer in _layers)
        {
            layer.BeginStep();
        }
    }

    /// <summary>Commits the open step of every layer.</summary>
    public void Commit()
    {
        foreach (var layer in _layers)
        {
            layer.Commit();
        }
    }

    /// <summary>Returns every layer to where the open step began, without copying the cache.</summary>
    public void Rollback()
    {
        foreach (var layer in _layers)
        {
            layer.Rollback();
        }
    }

    /// <summary>Every layer, as views of its stored entries (see <see cref="LayerKvCache.CaptureFull"/>); the caller disposes them.</summary>
    public IReadOnlyList<LayerKvSnapshot> CaptureFull() => _layers.Select(l => l.CaptureFull()).ToArray();

    /// <summary>
    /// What the last committed step changed in every layer (see <see cref="LayerKvCache.CaptureStep"/>), or null when some
    /// layer cannot describe it as a delta; the caller disposes the result.
    /// </summary>
    public IReadOnlyList<LayerKvDelta>? CaptureStep()
    {
        var deltas = new List<LayerKvDelta>(_layers.Length);
        foreach (var layer in _layers)
        {
            if (layer.CaptureStep() is not { } delta)
            {
                deltas.ForEach(d => d.Dispose());
                return null;
            }

            deltas.Add(delta);
        }

        return deltas;
    }

    /// <summary>Applies one step's deltas, one per layer, captured by <see cref="CaptureStep"/> on a cache that held this one's entries.</summary>
    /// <exception cref="ArgumentException">The deltas do not continue this cache (the message names the layer).</exception>
    public void Apply(IReadOnlyList<LayerKvDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        if (deltas.Count != _layers.Length)
        {
            throw new ArgumentException($"A step's delta holds {deltas.Count} layers; the cache has {_layers.Length}.", nameof(deltas));
        }

        for (var i = 0; i < _layers.Length; i++)
        {
            try
            {
                _layers[i].Apply(deltas[i]);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Layer {i} of the delta: {e.Message}", nameof(deltas), e);
            }
        }
    }

    /// <summary>Entries stored now, summed over layers (per head; every head of a layer holds the same count).</summary>
    public long StoredEntries => _layers.Sum(l => l.Count);

    /// <summary>Copies every layer for a checkpoint onto <paramref name="device"/> (CPU when null); the caller owns the result.</summary>
    public IReadOnlyList<LayerKvSnapshot> Export(torch.Device? device = null)
    {
        var target = device ?? torch.CPU;
        return _layers.Select(l => l.Export(target)).ToArray();
    }

    /// <summary>Rebuilds a cache from a checkpoint's snapshots onto the given device and dtype.</summary>
    public static KvCache Restore(IReadOnlyList<LayerKvSnapshot> layers, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0)
        {
            throw new ArgumentException("A cache checkpoint must hold at least one layer.", nameof(layers));
        }

        var restored = new List<LayerKvCache>(layers.Count);
        try
        {
            for (var i = 0; i < layers.Count; i++)
            {
                try
                {
                    restored.Add(LayerKvCache.Restore(layers[i], device, dtype));
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"Layer {i} of the cache checkpoint: {e.Message}", nameof(layers), e);
                }
            }

            var first = restored[0];
            for (var i = 1; i < restored.Count; i++)
            {
                var layer = restored[i];
                if (layer.KvHeads != first.KvHeads || layer.HeadDim != first.HeadDim || layer.SeenTokens != first.SeenTokens)
                {
                    throw new ArgumentException($"Layer {i} of the cache checkpoint ([G={layer.KvHeads}, D={layer.HeadDim}], seen {layer.SeenTokens}) disagrees with layer 0 ([G={first.KvHeads}, D={first.HeadDim}], seen {first.SeenTokens}).", nameof(layers));
                }
            }

            return new KvCache([.. restored], device, dtype);
        }
        catch
        {
            foreach (var layer in restored)
            {
                layer.Dispose();
            }

            throw;
        }
    }

    public void Dispose()
    {
        foreach (var layer in _layers)
        {
            layer.Dispose();
        }
    }
}
