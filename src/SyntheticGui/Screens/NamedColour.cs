namespace StarKv.SyntheticGui.Screens;

/// <summary>A colour an instruction can name, with its sRGB value.</summary>
public sealed record NamedColour(string Name, byte R, byte G, byte B)
{
    /// <summary>Nine hues far apart, so a small vision encoder can tell them apart.</summary>
    public static IReadOnlyList<NamedColour> All { get; } =
    [
        new("red", 214, 48, 49),
        new("orange", 235, 130, 20),
        new("yellow", 224, 190, 30),
        new("green", 40, 160, 70),
        new("teal", 20, 150, 150),
        new("blue", 40, 95, 215),
        new("purple", 135, 60, 200),
        new("pink", 225, 80, 160),
        new("gray", 120, 120, 120),
    ];

    public static NamedColour Gray => All[^1];

    /// <summary>Whether white text reads well on this colour (else black).</summary>
    public bool PrefersWhiteText => (0.299 * R) + (0.587 * G) + (0.114 * B) < 150;
}
