using TorchSharp;

namespace StarKv.Compression.Tensors;

/// <summary>
/// Scalars that stay alive until this object is disposed. TorchSharp passes a <see cref="Scalar"/>'s native handle to
/// libtorch without keeping the managed object alive, and a Scalar has a finaliser: a temporary Scalar (the implicit
/// conversion of a number in <c>tensor * 0.5</c>) can be finalised, and its native value freed, while the native call
/// still reads it. That shows as rare, random failures under garbage-collection pressure (an "INTERNAL ASSERT FAILED at
/// c10/core/Scalar.h"). Taking the numbers of a hot path from a <c>using var scalars = new HeldScalars();</c> keeps
/// them alive until the calls are done.
/// </summary>
public sealed class HeldScalars : IDisposable
{
    private readonly List<Scalar> _held = [];

    /// <summary>A Scalar of <paramref name="value"/> held until <see cref="Dispose"/>.</summary>
    public Scalar this[double value]
    {
        get
        {
            var scalar = value.ToScalar();
            _held.Add(scalar);
            return scalar;
        }
    }

    public void Dispose()
    {
        foreach (var scalar in _held)
        {
            scalar.Dispose();
        }

        _held.Clear();
    }
}
