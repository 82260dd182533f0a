namespace StarKv.Grains.Sessions;

/// <summary>
/// The key of a trajectory grain: <c>tenant/session</c>. A session belongs to exactly one tenant, so two
/// tenants may use the same session id without ever reaching each other's grain.
/// </summary>
public sealed record SessionKey
{
    public const int MaxPartLength = 128;

    public SessionKey(string tenant, string session)
    {
        Tenant = Validate(tenant, nameof(tenant));
        Session = Validate(session, nameof(session));
    }

    public string Tenant { get; }

    public string Session { get; }

    public static SessionKey Parse(string grainKey)
    {
        ArgumentNullException.ThrowIfNull(grainKey);
        var slash = grainKey.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            throw new FormatException($"Grain key '{grainKey}' is not of the form tenant/session.");
        }

        return new SessionKey(grainKey[..slash], grainKey[(slash + 1)..]);
    }

    public override string ToString() => $"{Tenant}/{Session}";

    private static string Validate(string part, string name)
    {
        ArgumentNullException.ThrowIfNull(part, name);
        if (part.Length is 0 or > MaxPartLength)
        {
            throw new ArgumentException($"The {name} id must have 1 to {MaxPartLength} characters; it has {part.Length}.", name);
        }

        foreach (var c in part)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                throw new ArgumentException($"The {name} id '{part}' may hold only ASCII letters, digits, '-', '_' and '.'; it holds '{c}'.", name);
            }
        }

        return part;
    }
}
