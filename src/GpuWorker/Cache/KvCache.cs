using TorchSharp;

namespace StarKv.GpuWorker.Cache;

/// <summary>
/// A session's KV cache: one <see cref="LayerKvCache"/> per decoder layer, each storing KV heads only
/// (<c>[G, N, D]</c> keys and values) with per-head bookkeeping. Layers are compressed independently, so
/// their stored counts may differ; every layer sees the same tokens.
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

    /// <summary>Bytes held by every layer's stored keys and values.</summary>
    public long Bytes => _layers.Sum(l => l.Bytes);

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
