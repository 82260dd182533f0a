using Microsoft.Extensions.Options;

namespace StarKv.Gateway.Configuration;

/// <summary>Binds an options section now, for settings that shape the host as it is built (ports, addresses, certificates).</summary>
public static class OptionsBinding
{
    /// <summary>
    /// Binds <paramref name="section"/> and runs its data annotations and <paramref name="validators"/>; throws
    /// <see cref="OptionsValidationException"/> listing every failure, including values the binder cannot convert.
    /// </summary>
    public static TOptions BindValidated<TOptions>(IConfiguration configuration, string section, params IValidateOptions<TOptions>[] validators)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(validators);
        TOptions options;
        try
        {
            options = configuration.GetSection(section).Get<TOptions>() ?? new TOptions();
        }
        catch (InvalidOperationException error)
        {
            // The binder's message names the key and the value ("Failed to convert configuration value 'x' at 'K' ...").
            throw new OptionsValidationException(section, typeof(TOptions), [error.Message]);
        }

        // Data annotations as the options pipeline runs them, but each failure as its own message (the pipeline wraps
        // them in "DataAnnotation validation failed for ... members: ...").
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new System.ComponentModel.DataAnnotations.ValidationContext(options), results, validateAllProperties: true);
        var failures = results.Select(r => r.ErrorMessage ?? "is invalid").ToList();
        foreach (var check in validators)
        {
            var result = check.Validate(Options.DefaultName, options);
            if (result.Failed)
            {
                failures.AddRange(result.Failures);
            }
        }

        return failures.Count == 0 ? options : throw new OptionsValidationException(section, typeof(TOptions), failures);
    }

    /// <summary>
    /// Runs <see cref="ConfigurationCheck"/>: throws <see cref="OptionsValidationException"/> for values of the wrong type
    /// and returns the warnings (unknown keys) for the caller to show.
    /// </summary>
    public static IReadOnlyList<string> CheckKeys(IConfiguration configuration)
    {
        var problems = ConfigurationCheck.Check(configuration);
        return problems.Errors.Count > 0
            ? throw new OptionsValidationException("StarKv", typeof(ConfigurationProblems), problems.Errors)
            : problems.Warnings;
    }
}
