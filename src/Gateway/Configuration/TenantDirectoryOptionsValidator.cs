using Microsoft.Extensions.Options;
using StarKv.Grains.Sessions;

namespace StarKv.Gateway.Configuration;

/// <summary>Checks every tenant entry at start-up and names the entry and field that is wrong.</summary>
public sealed class TenantDirectoryOptionsValidator : IValidateOptions<TenantDirectoryOptions>
{
    public ValidateOptionsResult Validate(string? name, TenantDirectoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Tenants.Count; i++)
        {
            var tenant = options.Tenants[i];
            var where = $"StarKv:Tenants:{i}";
            try
            {
                _ = new SessionKey(tenant.Id, "probe");
            }
            catch (ArgumentException error)
            {
                failures.Add($"{where}:Id is invalid: {error.Message}");
            }

            if (!ids.Add(tenant.Id))
            {
                failures.Add($"{where}:Id '{tenant.Id}' appears twice.");
            }

            if (tenant.ApiKeySha256.Length != 64 || !tenant.ApiKeySha256.All(char.IsAsciiHexDigit))
            {
                failures.Add($"{where}:ApiKeySha256 must be 64 hex digits (the SHA-256 of the key); it has {tenant.ApiKeySha256.Length} characters.");
            }
            else if (!hashes.Add(tenant.ApiKeySha256))
            {
                failures.Add($"{where}:ApiKeySha256 is the same key as another tenant's.");
            }

            if (tenant.MaxSessions < 1)
            {
                failures.Add($"{where}:MaxSessions must be at least 1; it is {tenant.MaxSessions}.");
            }

            if (tenant.MaxKvBytes < 1)
            {
                failures.Add($"{where}:MaxKvBytes must be positive; it is {tenant.MaxKvBytes}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
