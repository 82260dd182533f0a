using System.Runtime;

namespace StarKv.Compression.Tensors;

/// <summary>
/// A stretch of tensor work during which no garbage collection runs, as far as the runtime allows
/// (<see cref="GC.TryStartNoGCRegion(long)"/>): the allocations of every thread come from memory committed up front, and
/// the collection the region defers happens when it ends, between two native calls. This closes the window in which a
/// TorchSharp Scalar made for a single call (for example the implicit <c>alpha = 1</c> of <c>a + b</c>) is collected and
/// finalised by another thread while libtorch still reads it (see <see cref="HeldScalars"/>), for loops whose Scalars
/// cannot all be held. When the budget runs out the runtime ends the region early with a collection; nothing breaks,
/// the window merely opens again for the rest of that stretch. Nested or concurrent use is a no-op.
/// </summary>
public sealed class QuietGcRegion : IDisposable
{
    private readonly bool _started;

    /// <param name="budgetBytes">Allocations the stretch may make without a collection.</param>
    public QuietGcRegion(long budgetBytes = 192L << 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        try
        {
            _started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(budgetBytes);
        }
        catch (InvalidOperationException)
        {
            _started = false;
        }
        catch (ArgumentOutOfRangeException)
        {
            _started = false;
        }
    }

    /// <summary>Whether the region began (false when another one is open or the runtime refused).</summary>
    public bool Started => _started;

    public void Dispose()
    {
        if (_started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            try
            {
                GC.EndNoGCRegion();
            }
            catch (InvalidOperationException)
            {
                // The runtime already ended the region (its budget ran out): nothing to end.
            }
        }
    }
}
