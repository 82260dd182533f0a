namespace StarKv.Eval.Core.Benchmarks;

/// <summary>A rectangle in pixels of a screenshot, corners inclusive: left, top, right, bottom.</summary>
public readonly record struct BoxXyxy(double X1, double Y1, double X2, double Y2)
{
    public static BoxXyxy FromXywh(double x, double y, double width, double height) => new(x, y, x + width, y + height);

    public double Area => (X2 - X1) * (Y2 - Y1);

    /// <summary>Whether the pixel point lies in the box, every edge inclusive.</summary>
    public bool Contains(double x, double y) => X1 <= x && x <= X2 && Y1 <= y && y <= Y2;

    public BoxXyxy Inflate(double margin) => new(X1 - margin, Y1 - margin, X2 + margin, Y2 + margin);

    public override string ToString() => FormattableString.Invariant($"[{X1}, {Y1}, {X2}, {Y2}]");
}
